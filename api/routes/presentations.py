"""Relying parties and verified presentations (OpenID4VP 1.0 with DCQL): a party asks, the holder's page
reads the request and answers at its response URI, the party collects the verified result once."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, AdminDep, LedgerDep, PublicLimit
from api.routes.agencies import api_key_out
from api.routes.verify import read_limited
from api.schemas import (
    CreatedApiKeyOut,
    CreatedPresentationOut,
    CreatePresentationBody,
    RegisteredRelyingPartyOut,
    RegisterRelyingPartyBody,
    RelyingPartyKeyBody,
    RelyingPartyOut,
)
from ledger.documents.jsonsafe import loads
from ledger.errors import InvalidRequestError
from ledger.render.qr import qr_png
from ledger.store.models import RelyingPartyRow
from ledger.usecases.actors import Scope
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.presentation_answer import answer_request
from ledger.usecases.relying_parties import (
    collect_result,
    create_request,
    deliver_result,
    register_relying_party,
    request_object,
)

router = APIRouter(prefix="/v1/presentations", tags=["presentations"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])

MAX_ANSWER_BYTES = 2 * 1024 * 1024
_PRIVATE = {"Cache-Control": "no-store"}


def _party(row: RelyingPartyRow) -> RelyingPartyOut:
    return RelyingPartyOut(
        id=row.id, name=row.name, name_ar=row.name_ar, redirect_uris=row.redirect_uris, callback_url=row.callback_url
    )


@admin.post("/relying-parties", status_code=status.HTTP_201_CREATED, summary="Register a relying party")
def create_party(body: RegisterRelyingPartyBody, _admin: AdminDep, ledger: LedgerDep) -> RegisteredRelyingPartyOut:
    """Its names, where holders go back to, and its first API key (scope relying-party), shown only here."""
    registered = register_relying_party(
        ledger,
        party_id=body.id,
        name=body.name,
        name_ar=body.name_ar,
        redirect_uris=body.redirect_uris,
        callback_url=body.callback_url,
    )
    return RegisteredRelyingPartyOut(
        relying_party=_party(registered.party),
        token=registered.key.token,
        key_id=registered.key.key.id,
        callback_secret=registered.callback_secret,
    )


@admin.post(
    "/relying-parties/{party_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Give a relying party a new API key",
)
def create_party_api_key(
    party_id: str, body: RelyingPartyKeyBody, _admin: AdminDep, ledger: LedgerDep
) -> CreatedApiKeyOut:
    """Scope relying-party; the token is shown only in this answer (revoke the old key with /api-keys/{id}/revoke)."""
    issued = create_api_key(
        ledger, agency_id=None, relying_party_id=party_id, scopes={Scope.RELYING_PARTY}, label=body.label
    )
    return CreatedApiKeyOut(key=api_key_out(issued.key), token=issued.token)


@admin.get("/relying-parties", summary="The relying parties")
def parties(_admin: AdminDep, ledger: LedgerDep) -> list[RelyingPartyOut]:
    """Every registered relying party."""
    return [_party(row) for row in ledger.presentations.parties()]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Ask a holder for verified documents")
def create(
    body: CreatePresentationBody, actor: ActorDep, ledger: LedgerDep, response: Response
) -> CreatedPresentationOut:
    """A presentation request (relying-party key): the holder opens the consent URL or its QR code."""
    response.headers.update(_PRIVATE)
    created = create_request(
        ledger,
        actor,
        dcql_query=body.dcql_query,
        purpose=body.purpose.model_dump(),
        rules=body.rules,
        redirect_uri=body.redirect_uri,
        ttl_seconds=body.ttl_seconds,
    )
    png = base64.b64encode(qr_png(created.consent_url, scale=4)).decode("ascii")
    return CreatedPresentationOut(
        id=created.row.id,
        request_uri=created.request_uri,
        consent_url=created.consent_url,
        wallet_url=created.wallet_url,
        qr_code=f"data:image/png;base64,{png}",
        nonce=created.row.nonce,
        expires_at=created.row.expires_at,
    )


@router.get("/{request_id}/request", summary="A presentation request, for the holder", dependencies=[PublicLimit])
def read_request(request_id: str, ledger: LedgerDep, response: Response) -> dict[str, Any]:
    """Who asks, why, for which claims of which documents, and the single-use state and nonce."""
    response.headers.update(_PRIVATE)
    return request_object(ledger, request_id)


async def _form_or_json(request: Request) -> dict[str, Any]:
    """OpenID4VP's direct_post body: form fields (vp_token as JSON text) or the same as a JSON object."""
    body = await read_limited(request, MAX_ANSWER_BYTES)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            fields = {name: values[-1] for name, values in parse_qs(body.decode("utf-8")).items()}
        except UnicodeDecodeError:
            raise InvalidRequestError("the answer's form is not UTF-8", field="body") from None
        token = fields.get("vp_token")
        # the strict reader every JSON body goes through: no duplicate key, no NaN, no lone surrogate
        parsed_token = loads(token.encode("utf-8", "surrogatepass"), what="the vp_token") if token else None
        return {"state": fields.get("state"), "vp_token": parsed_token}
    if kind == "application/json":  # JsonGuard has read this body strictly already
        parsed = loads(body, what="the answer")
        if isinstance(parsed, dict):
            return parsed
    raise InvalidRequestError(
        "send the answer as application/x-www-form-urlencoded (vp_token, state) or as a JSON object", field="body"
    )


@router.post(
    "/{request_id}/response",
    summary="The holder's answer (direct_post)",
    dependencies=[PublicLimit],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"vp_token": {"type": "string"}, "state": {"type": "string"}},
                        "required": ["vp_token", "state"],
                    }
                },
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"vp_token": {"type": "object"}, "state": {"type": "string"}},
                        "required": ["vp_token", "state"],
                    }
                },
            },
        }
    },
)
async def respond(
    request_id: str, request: Request, ledger: LedgerDep, response: Response, background: BackgroundTasks
) -> dict[str, Any]:
    """Verified at once: the answer is accepted (and the relying party may collect it) or refused with reasons.
    A relying party with a callback receives the result there, once this answer is sent."""
    response.headers.update(_PRIVATE)
    fields = await _form_or_json(request)
    answer = await run_in_threadpool(
        answer_request, ledger, request_id, state=fields.get("state"), vp_token=fields.get("vp_token")
    )
    background.add_task(deliver_result, ledger, request_id)  # a sync function: run in the thread pool
    return answer.as_dict()


@router.get("/{request_id}", summary="A request's state, and its verified result (once)")
def result(
    request_id: str, actor: ActorDep, ledger: LedgerDep, response: Response, response_code: str | None = None
) -> dict[str, Any]:
    """For the relying party that asked: PENDING, EXPIRED, or ANSWERED with the result; the service then
    forgets the claims, and asking again is a 410. `response_code`, from the holder's redirect, binds the
    result to the browser that brought the answer: a code that is not the answer's is a 403."""
    response.headers.update(_PRIVATE)
    return collect_result(ledger, actor, request_id, response_code=response_code)
