"""Relying parties and their presentation requests (OpenID4VP 1.0 with DCQL): registering a party,
asking a holder for documents, and collecting the verified result once.

A request is created by a relying party's key and named by 128 random bits; the request object it
serves (public, for the holder's page) names the party, the DCQL query, the purpose in both languages,
the rules the party will apply, and a single-use `state` and `nonce`. The answer arrives at the
request's response URI (`ledger.usecases.presentation_answer`); the party collects the result once
(or receives it, signed, on its callback), after which the service keeps no claim of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ledger.domain import PresentationState, validate_agency_id
from ledger.errors import GoneError, InvalidRequestError, NotFoundError, PermissionDeniedError
from ledger.openid4vp.dcql import parse_query
from ledger.openid4vp.rules import parse_rules
from ledger.store.models import PresentationRequestRow, RelyingPartyRow
from ledger.usecases.actors import Actor, Scope
from ledger.usecases.api_keys import IssuedApiKey, create_api_key
from ledger.usecases.context import Ledger

log = logging.getLogger(__name__)

DEFAULT_TTL = 600
_MAX_TTL = 3600
_MIN_TTL = 60
_MAX_REDIRECTS = 10


@dataclass(frozen=True, slots=True)
class RegisteredParty:
    """A new relying party, its first API key, and the secret that signs what is posted to its callback
    (both shown once)."""

    party: RelyingPartyRow
    key: IssuedApiKey
    callback_secret: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedRequest:
    """A new presentation request and where the holder opens it."""

    row: PresentationRequestRow
    request_uri: str
    consent_url: str
    wallet_url: str


def _url(value: Any, field: str, *, production: bool) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidRequestError(f"{field} must be a URL of at most 2000 characters", field=field)
    parts = urlsplit(value)
    schemes = ("https",) if production else ("https", "http")
    if parts.scheme not in schemes or not parts.netloc or parts.fragment:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise InvalidRequestError(
            f"{field} '{value}' must be an absolute {allowed} URL without a fragment", field=field
        )
    return value


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidRequestError(f"{field} is 1 to 200 characters", field=field)
    return value.strip()


def register_relying_party(
    ledger: Ledger,
    *,
    party_id: str,
    name: str,
    name_ar: str,
    redirect_uris: list[str],
    callback_url: str | None = None,
    token: str | None = None,
) -> RegisteredParty:
    """Register a relying party with its names in English and Arabic, the URLs it may send holders back
    to, and where its results are posted (if anywhere); it gets an API key of scope relying-party (with
    `token` as its token when given: the development demo's is known).

    Raises `InvalidRequestError` for a malformed id, name or URL (plain http only in development), and
    `ConflictError` for an id in use.
    """
    production = ledger.settings.mode == "production"
    try:
        validate_agency_id(party_id)
    except InvalidRequestError:
        raise InvalidRequestError(
            f"relying party id '{party_id}' must be 2-31 characters of lowercase letters, digits and '-'",
            field="id",
        ) from None
    if len(redirect_uris) > _MAX_REDIRECTS:
        raise InvalidRequestError(f"at most {_MAX_REDIRECTS} redirect URIs", field="redirect_uris")
    secret = secrets.token_urlsafe(32) if callback_url else None
    row = RelyingPartyRow(
        id=party_id,
        name=_name(name, "name"),
        name_ar=_name(name_ar, "name_ar"),
        redirect_uris=[_url(uri, "redirect_uris", production=production) for uri in redirect_uris],
        callback_url=_url(callback_url, "callback_url", production=production) if callback_url else None,
        callback_secret=ledger.vault.seal(secret.encode(), _callback_binding(party_id)) if secret else None,
    )
    party = ledger.presentations.add_party(row)
    key = create_api_key(
        ledger,
        agency_id=None,
        relying_party_id=party.id,
        scopes={Scope.RELYING_PARTY},
        label=f"{party.id} key",
        token=token,
    )
    return RegisteredParty(party=party, key=key, callback_secret=secret)


def _callback_binding(party_id: str) -> str:
    return f"relying-party-callback:{party_id}"


def _purpose(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"en", "ar"}:
        raise InvalidRequestError(
            "purpose gives the reason in English and Arabic: {'en': ..., 'ar': ...}", field="purpose"
        )
    for language in ("en", "ar"):
        text = value[language]
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            raise InvalidRequestError(f"purpose.{language} is 1 to 500 characters", field="purpose")
    return {"en": value["en"].strip(), "ar": value["ar"].strip()}


def request_links(ledger: Ledger, row: PresentationRequestRow) -> tuple[str, str, str]:
    """The request URI, the consent page's URL and the OpenID4VP wallet URL of a request."""
    base = ledger.settings.public_base_url.rstrip("/")
    request_uri = f"{base}/v1/presentations/{row.id}/request"
    consent = f"{base}/present#request_uri={quote(request_uri, safe='')}"
    wallet = f"openid4vp://?client_id={quote(row.relying_party_id, safe='')}&request_uri={quote(request_uri, safe='')}"
    return request_uri, consent, wallet


def create_request(
    ledger: Ledger,
    actor: Actor,
    *,
    dcql_query: Any,
    purpose: Any,
    rules: Any = None,
    redirect_uri: str | None = None,
    ttl_seconds: int = DEFAULT_TTL,
) -> CreatedRequest:
    """A relying party's request for documents: what it asks (a DCQL query), why, the rules it will
    decide by, where the holder goes back to, and how long the request lives (60 s to an hour).

    Raises `PermissionDeniedError` for a key that is not a relying party's, and `InvalidRequestError`
    for a query outside what Sijill answers, a malformed rule or purpose, a redirect URI the party did
    not register, or a lifetime out of range.
    """
    party_id = actor.require_party()
    party = ledger.presentations.party(party_id)
    if party is None:
        raise PermissionDeniedError(f"relying party '{party_id}' is no longer registered")
    query = parse_query(dcql_query)
    parsed_rules = parse_rules(rules, query)
    if redirect_uri is not None and redirect_uri not in party.redirect_uris:
        raise InvalidRequestError(
            f"redirect_uri '{redirect_uri}' is not one relying party '{party_id}' registered", field="redirect_uri"
        )
    if not _MIN_TTL <= ttl_seconds <= _MAX_TTL:
        raise InvalidRequestError(f"ttl_seconds is {_MIN_TTL} to {_MAX_TTL}", field="ttl_seconds")
    now = ledger.clock()
    discard_stale_results(ledger)
    row = PresentationRequestRow(
        id=secrets.token_urlsafe(16),  # 128 bits: the request URI is the holder's capability
        relying_party_id=party_id,
        query=dcql_query,
        purpose=_purpose(purpose),
        rules=[rule.as_json() for rule in parsed_rules],
        redirect_uri=redirect_uri,
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        status=PresentationState.PENDING.value,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        refusals=[],
    )
    ledger.presentations.add_request(row)
    request_uri, consent, wallet = request_links(ledger, row)
    return CreatedRequest(row=row, request_uri=request_uri, consent_url=consent, wallet_url=wallet)


def open_request(ledger: Ledger, request_id: str) -> PresentationRequestRow:
    """A request a holder may still answer. Raises `NotFoundError`, and `GoneError` once it has expired
    or been answered."""
    row = ledger.presentations.request(request_id)
    if row is None:
        raise NotFoundError("no such presentation request: check the link or ask the service for a new one")
    if row.status != PresentationState.PENDING.value:
        raise GoneError("this request has been answered already; ask the service for a new one")
    if ledger.clock() >= row.expires_at:
        raise GoneError(f"this request expired at {row.expires_at.isoformat()}; ask the service for a new one")
    return row


def request_object(ledger: Ledger, request_id: str) -> dict[str, Any]:
    """The request as the holder's page reads it (OpenID4VP's authorization request parameters, plus the
    party's names, the purpose and the rules). Raises as `open_request` does."""
    row = open_request(ledger, request_id)
    party = ledger.presentations.party(row.relying_party_id)
    assert party is not None, "a request's relying party is never deleted"
    request_uri, _, _ = request_links(ledger, row)
    return {
        "client_id": party.id,
        "client_metadata": {"client_name": party.name, "client_name#ar": party.name_ar},
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": request_uri.removesuffix("/request") + "/response",
        "state": row.state,
        "nonce": row.nonce,
        "dcql_query": row.query,
        "purpose": row.purpose,
        "rules": row.rules,
        "expires_at": row.expires_at.isoformat(),
    }


def _owned(ledger: Ledger, actor: Actor, request_id: str) -> PresentationRequestRow:
    party_id = actor.require_party()
    row = ledger.presentations.request(request_id)
    if row is None or row.relying_party_id != party_id:
        raise NotFoundError(f"relying party '{party_id}' has no presentation request '{request_id}'")
    return row


def discard_stale_results(ledger: Ledger) -> int:
    """Drop the results nobody collected within `Settings.presentation_result_hours`; how many. The service's
    pipeline worker calls it about once a minute, and so does every new request and every collection."""
    hours = ledger.settings.presentation_result_hours
    return ledger.presentations.discard_before(ledger.clock() - timedelta(hours=hours))


def collect_result(
    ledger: Ledger, actor: Actor, request_id: str, *, response_code: str | None = None
) -> dict[str, Any]:
    """Where a relying party's request is; once answered, its verified result, handed over once. With
    `response_code`, the code the holder's redirect carried must be this answer's.

    Raises `PermissionDeniedError` for a key that is not a relying party's or a response code that is not
    the answer's, `NotFoundError` for a request that is not the caller's, and `GoneError` once the result
    was collected.
    """
    discard_stale_results(ledger)
    row = _owned(ledger, actor, request_id)
    if response_code is not None and not (
        row.response_code and hmac.compare_digest(response_code.encode(), row.response_code.encode())
    ):
        raise PermissionDeniedError("the response code is not the one this request's answer was given")
    base: dict[str, Any] = {"id": row.id, "expires_at": row.expires_at.isoformat(), "refusals": row.refusals or []}
    if row.status == PresentationState.PENDING.value:
        expired = ledger.clock() >= row.expires_at
        return {**base, "status": "EXPIRED" if expired else PresentationState.PENDING.value}
    if row.status == PresentationState.DISCARDED.value:
        hours = ledger.settings.presentation_result_hours
        raise GoneError(f"the result of request '{row.id}' was not collected within {hours:g} hours and was dropped")
    collected_at = row.collected_at
    if row.status == PresentationState.ANSWERED.value:
        result = ledger.presentations.collect(row.id, ledger.clock())
        if result is not None:
            return {**base, "status": PresentationState.ANSWERED.value, "result": result}
        collected_at = (ledger.presentations.request(row.id) or row).collected_at
    when = collected_at.isoformat() if isinstance(collected_at, datetime) else "an earlier request"
    raise GoneError(f"the result of request '{row.id}' was collected at {when}; the service keeps no copy")


def deliver_result(ledger: Ledger, request_id: str, *, timeout: float = 5.0) -> bool:
    """Post an answered request's result to its relying party's callback, once: on a 2xx answer the result
    counts as collected and the service forgets its claims; otherwise it waits for the party's GET.

    The body is JSON (``{"id", "status": "ANSWERED", "result"}``), signed with the party's callback secret:
    ``X-Sijill-Signature: sha256=<HMAC-SHA256 of the body, hex>``. One attempt, no retry. Returns whether the
    result was delivered; never raises for the party's endpoint (a failure is logged).
    """
    row = ledger.presentations.request(request_id)
    party = ledger.presentations.party(row.relying_party_id) if row is not None else None
    if row is None or party is None or not party.callback_url or not party.callback_secret or row.result is None:
        return False
    body = json.dumps(
        {"id": row.id, "status": PresentationState.ANSWERED.value, "result": row.result}, ensure_ascii=False
    ).encode("utf-8")
    secret = ledger.vault.unseal(party.callback_secret, _callback_binding(party.id))
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Sijill-Signature": f"sha256={signature}"}
    try:
        answer = httpx.post(party.callback_url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        log.warning("relying party %s's callback failed for request %s: %s", party.id, row.id, error)
        return False
    if not answer.is_success:
        log.warning("relying party %s's callback answered %d for request %s", party.id, answer.status_code, row.id)
        return False
    return ledger.presentations.collect(row.id, ledger.clock()) is not None
