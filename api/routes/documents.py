"""Issuing documents, reading their status, and changing it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import IssuerDep, LedgerDep, PublicLimit, RevokerDep
from api.schemas import (
    AcceptedBatchOut,
    AcceptedDocumentOut,
    AnchorOut,
    IssueBatchBody,
    IssuedBatchOut,
    IssuedDocumentOut,
    IssueDocumentBody,
    ReasonBody,
    StatusChangeOut,
)
from ledger.domain import DocumentStage, ReasonCode, normalize_hash
from ledger.errors import InvalidRequestError, NotFoundError
from ledger.usecases.actors import Scope
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import credentials_of, require_credential_key
from ledger.usecases.issuance import IssuedBatch, accept_documents, issue_documents
from ledger.usecases.sharing import (
    certificate_pdf,
    erase_document,
    verification_link,
    verification_qr,
    wrapped_document,
)
from ledger.usecases.status import Action, StatusChange, change_status, get_record

router = APIRouter(prefix="/v1/documents", tags=["documents"])


def _anchor(batch: IssuedBatch) -> AnchorOut:
    return AnchorOut(
        merkle_root=batch.merkle_root,
        transaction=batch.receipt.tx_hash,
        block_number=batch.receipt.block_number,
        anchored_at=datetime.fromtimestamp(batch.receipt.block_timestamp, UTC),
        key=batch.key,
        expires_at=datetime.fromtimestamp(batch.expires_at, UTC) if batch.expires_at else None,
    )


WaitQuery = Annotated[
    bool,
    Query(description="true: answer once the anchor is mined (201); false: queue it and answer at once (202)"),
]


CredentialQuery = Annotated[
    bool,
    Query(description="true: also sign each document's W3C Verifiable Credential (ecdsa-sd-2023), with wait=true"),
]


def _credential_first(ledger: Ledger, agency_id: str, wait: bool, credential: bool) -> None:
    """Refuse, before anything is issued, a credential that could not be signed with the documents."""
    if credential and not wait:
        raise InvalidRequestError(
            "credentials are signed once the anchor is mined: issue with wait=true, or ask "
            "GET /v1/documents/{target_hash}/credential once the document is anchored",
            field="credential",
        )
    if credential:
        require_credential_key(ledger, agency_id)


def _accepted(request: Request, document: dict[str, Any]) -> AcceptedDocumentOut:
    target = document["signature"]["targetHash"]
    return AcceptedDocumentOut(
        target_hash=target,
        stage=DocumentStage.ACCEPTED,
        status_url=str(request.url_for("read", target_hash=target)),
        document_url=str(request.url_for("wrapped", target_hash=target)),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Issue one document",
    responses={202: {"model": AcceptedDocumentOut, "description": "Queued for the next batch (wait=false)"}},
)
def issue_one(
    body: IssueDocumentBody,
    actor: IssuerDep,
    ledger: LedgerDep,
    request: Request,
    response: Response,
    wait: WaitQuery = True,
    credential: CredentialQuery = False,
) -> IssuedDocumentOut | AcceptedDocumentOut:
    """Validate, wrap and anchor one document for the caller's agency (or queue it, with wait=false)."""
    agency_id = actor.require_agency(Scope.ISSUE)
    _credential_first(ledger, agency_id, wait, credential)
    if not wait:
        accepted = _accepted(request, accept_documents(ledger, agency_id, [body.to_request()])[0])
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = accepted.status_url
        return accepted
    batch = issue_documents(ledger, agency_id, [body.to_request()])
    document = batch.documents[0]
    target = document["signature"]["targetHash"]
    issued = IssuedDocumentOut(target_hash=target, anchor=_anchor(batch), document=document)
    if credential:
        issued.credential, issued.credential_error = credentials_of(ledger, actor, [target])[0]
    return issued


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    summary="Issue many documents under one anchor",
    responses={202: {"model": AcceptedBatchOut, "description": "Queued for the next batches (wait=false)"}},
)
def issue_batch(
    body: IssueBatchBody,
    actor: IssuerDep,
    ledger: LedgerDep,
    request: Request,
    response: Response,
    wait: WaitQuery = True,
    credential: CredentialQuery = False,
) -> IssuedBatchOut | AcceptedBatchOut:
    """Validate, wrap and anchor a batch; one Merkle root covers every document (or queue them, with wait=false)."""
    agency_id = actor.require_agency(Scope.ISSUE)
    _credential_first(ledger, agency_id, wait, credential)
    requests = [item.to_request() for item in body.documents]
    if not wait:
        response.status_code = status.HTTP_202_ACCEPTED
        return AcceptedBatchOut(
            documents=[_accepted(request, item) for item in accept_documents(ledger, agency_id, requests)]
        )
    batch = issue_documents(ledger, agency_id, requests)
    issued = IssuedBatchOut(anchor=_anchor(batch), documents=batch.documents)
    if credential:
        signed = credentials_of(ledger, actor, [document["signature"]["targetHash"] for document in batch.documents])
        issued.credentials = [item for item, _error in signed]
        issued.credential_errors = [error for _item, error in signed]
    return issued


@router.get("/{target_hash}/wrapped", summary="The wrapped document to hand its holder, once anchored")
def wrapped(target_hash: str, actor: IssuerDep, ledger: LedgerDep, response: Response) -> dict[str, Any]:
    """For the issuing agency: the OpenAttestation document with its proof (409 while it waits for its batch)."""
    response.headers["Cache-Control"] = "no-store"
    return wrapped_document(ledger, actor, normalize_hash(target_hash, "target_hash"))


@router.get(
    "/{target_hash}.pdf",
    summary="The printable PDF of a document (it carries the document and its QR code)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def pdf(target_hash: str, actor: IssuerDep, ledger: LedgerDep) -> Response:
    """For the issuing agency: a certificate to print or hand over; the PDF verifies by itself."""
    content = certificate_pdf(ledger, actor, normalize_hash(target_hash, "target_hash"))
    headers = {"Content-Disposition": f'inline; filename="{target_hash[:16]}.pdf"', "Cache-Control": "no-store"}
    return Response(content, media_type="application/pdf", headers=headers)


@router.get(
    "/{target_hash}/qr.{kind}",
    summary="The QR code of a document's verification link (png or svg)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def qr(target_hash: str, kind: str, actor: IssuerDep, ledger: LedgerDep) -> Response:
    """For the issuing agency: the link opens the document, so it is not public."""
    if kind not in ("png", "svg"):
        raise NotFoundError(f"no QR format '{kind}'; use qr.png or qr.svg")
    content = verification_qr(ledger, actor, normalize_hash(target_hash, "target_hash"), kind)
    media = "image/png" if kind == "png" else "image/svg+xml"
    return Response(content, media_type=media, headers={"Cache-Control": "no-store"})


@router.get("/{target_hash}/link", summary="The verification link of a document")
def share(target_hash: str, actor: IssuerDep, ledger: LedgerDep, response: Response) -> dict[str, str]:
    """The link the QR code encodes: the page, with a reference and a key in the fragment."""
    response.headers["Cache-Control"] = "no-store"
    return {"link": verification_link(ledger, actor, normalize_hash(target_hash, "target_hash"))}


@router.delete("/{target_hash}", summary="Erase the service's copy of a document (content and salts)")
def erase(target_hash: str, actor: IssuerDep, ledger: LedgerDep) -> dict[str, Any]:
    """For erasure requests: the chain keeps only hashes; the holder's copy still verifies.

    The answer says whether an earlier request had erased it already (the copy is gone either way).
    """
    wanted = normalize_hash(target_hash, "target_hash")
    erased = erase_document(ledger, actor, wanted)
    return {"target_hash": wanted, "already_erased": not erased}


@router.get("/{target_hash}", summary="A document's (or batch's) record and live status", dependencies=[PublicLimit])
def read(target_hash: str, ledger: LedgerDep) -> dict[str, Any]:
    """The record by target hash or batch root: type, agency, anchor and status. No content."""
    return get_record(ledger, target_hash).as_dict()


def _change_out(change: StatusChange) -> StatusChangeOut:
    return StatusChangeOut(
        hash=change.hash,
        scope=change.scope,
        action=change.action.value,
        status=change.status,
        reason=change.reason.name.lower(),
        transaction=change.receipt.tx_hash,
        block_number=change.receipt.block_number,
    )


@router.post("/{target_hash}/revoke", summary="Revoke a document, or a whole batch by its root")
def revoke(target_hash: str, body: ReasonBody, actor: RevokerDep, ledger: LedgerDep) -> StatusChangeOut:
    """Final. The issuing agency or the admin may revoke."""
    reason = ReasonCode.parse(body.reason)
    return _change_out(change_status(ledger, actor, target_hash, Action.REVOKE, reason))


@router.post("/{target_hash}/suspend", summary="Suspend a document, or a whole batch by its root")
def suspend(target_hash: str, body: ReasonBody, actor: RevokerDep, ledger: LedgerDep) -> StatusChangeOut:
    """Until reinstated, the document verifies as SUSPENDED."""
    reason = ReasonCode.parse(body.reason)
    return _change_out(change_status(ledger, actor, target_hash, Action.SUSPEND, reason))


@router.post("/{target_hash}/reinstate", summary="Reinstate a suspended document or batch")
def reinstate(target_hash: str, actor: RevokerDep, ledger: LedgerDep) -> StatusChangeOut:
    """The document verifies as VALID again (unless revoked or expired meanwhile)."""
    return _change_out(change_status(ledger, actor, target_hash, Action.REINSTATE, ReasonCode.UNSPECIFIED))
