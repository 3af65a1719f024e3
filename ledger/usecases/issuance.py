"""Issuing documents: validate, wrap, record the intent, anchor, confirm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from time import time as time_now
from typing import Any

from ledger.documents.salt import SaltSource
from ledger.documents.wrap import salt_document, wrap_documents
from ledger.domain import BatchState, ChainStatus, HexHash, TxReceipt
from ledger.errors import (
    ChainUnavailableError,
    InvalidRequestError,
    NoActiveKeyError,
    PermissionDeniedError,
    QueueFullError,
)
from ledger.store.models import AgencyRow, BatchRow
from ledger.store.outbox import NewBatch
from ledger.store.queue import QueuedDocument
from ledger.store.repository import NewDocument
from ledger.usecases.agencies import require_agency
from ledger.usecases.anchoring import anchor_batch, observe, wait_for_anchor
from ledger.usecases.context import Ledger


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """One document to issue: its type, its fields and an optional expiry."""

    document_type: str
    fields: dict[str, Any]
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedBatch:
    """A batch anchored on chain, with its wrapped documents in request order."""

    merkle_root: HexHash
    agency_id: str
    key: str
    receipt: TxReceipt
    expires_at: int | None
    documents: list[dict[str, Any]] = field(default_factory=list)


def with_expiry(request: IssueRequest) -> IssueRequest:
    """`request` with its expiry: the one given, else the end (UTC) of its ``expiryDate`` field.

    A licence that says it expires on a date then verifies as EXPIRED after that day.
    """
    if request.expires_at is not None or not isinstance(request.fields.get("expiryDate"), str):
        return request
    day = date.fromisoformat(request.fields["expiryDate"])
    end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    return IssueRequest(document_type=request.document_type, fields=request.fields, expires_at=end)


def build_document_data(ledger: Ledger, agency: AgencyRow, request: IssueRequest) -> dict[str, Any]:
    """The data of one document before salting: type, issuer, network, subject and validity.

    The issuer entry follows OpenAttestation v2: the registry is the document store,
    and the identity proof names the DNS domain where the agency publishes its
    TXT record (a reserved ``.invalid`` name when it has none yet).
    """
    agency_id, agency_name, name_ar = agency.id, agency.name, agency.name_ar
    issuer = {
        "name": agency_name,
        "documentStore": ledger.network.registry,
        "identityProof": {"type": "DNS-TXT", "location": agency.domain or f"{agency_id}.invalid"},
    }
    kind = ledger.catalog.get(request.document_type).definition
    data: dict[str, Any] = {
        "documentType": request.document_type,
        "issuers": [issuer],
        "sijill": {
            "version": 2,
            "chainId": ledger.network.chain_id,
            "registry": ledger.network.registry,
            "agencyId": agency_id,
            "agencyName": {"en": agency_name, **({"ar": name_ar} if name_ar else {})},
            # The type as registered: no holder can hide it ('sijill' is protected), and a verifier checks
            # that the registry holds this definition for this type, of this agency or shared, before the anchor.
            "documentType": {
                "id": kind.id,
                "version": kind.version,
                "definition": kind.hash,
                "neverHidden": [f"subject.{name}" for name in kind.never_hidden],
            },
        },
        "subject": request.fields,
    }
    if request.expires_at is not None:
        data["validUntil"] = request.expires_at.isoformat()
    return data


def _checked(ledger: Ledger, agency_id: str, requests: Sequence[IssueRequest]) -> tuple[AgencyRow, list[IssueRequest]]:
    """The agency and the requests with their expiries, once every document is valid (no chain needed).

    Raises `InvalidRequestError` (schema, expiry, size), `UnknownDocumentTypeError`, `PermissionDeniedError`
    (another agency's type) and `AgencyNotFoundError`.
    """
    if not requests:
        raise InvalidRequestError("a batch needs at least one document", field="documents")
    limit = ledger.settings.max_batch_size
    if len(requests) > limit:
        raise InvalidRequestError(f"a batch holds at most {limit} documents, got {len(requests)}", field="documents")
    agency = require_agency(ledger, agency_id)
    now = ledger.now()
    catalog = ledger.catalog
    for index, request in enumerate(requests):
        try:
            owner = catalog.get(request.document_type).definition.owner
            if owner is not None and owner != agency_id:
                raise PermissionDeniedError(
                    f"document type '{request.document_type}' belongs to agency '{owner}'; only it issues documents "
                    "of that type"
                )
            catalog.validate(request.document_type, request.fields)
        except InvalidRequestError as error:
            prefix = f"documents.{index}." if len(requests) > 1 else ""
            raise type(error)(f"{prefix}{error.message}", field=f"{prefix}{error.field or ''}") from error
    checked = [with_expiry(request) for request in requests]
    for request in checked:
        if request.expires_at is not None and request.expires_at.timestamp() <= now:
            raise InvalidRequestError(
                "'expires_at' (or the 'expiryDate' field) must be in the future", field="expires_at"
            )
    return agency, checked


def _expiry(request: IssueRequest) -> int | None:
    return int(request.expires_at.timestamp()) if request.expires_at else None


def _no_key(agency_id: str) -> NoActiveKeyError:
    return NoActiveKeyError(
        f"agency '{agency_id}' has no issuer key valid now; the admin adds one with "
        f"POST /v1/admin/agencies/{agency_id}/keys or `sijill key add {agency_id}`"
    )


def issue_documents(ledger: Ledger, agency_id: str, requests: Sequence[IssueRequest]) -> IssuedBatch:
    """Issue `requests` as one batch under one anchor for `agency_id`, and wait until it is mined.

    Steps: validate every document against its schema; wrap them; record the batch, its
    documents and its signed anchor transaction together; broadcast; wait for the block.
    A revert or an unreachable chain before recording leaves nothing behind; once
    recorded, the anchor is sent until it is mined, whatever fails (`ledger.usecases.anchoring`).

    Raises `InvalidRequestError` (schema, expiry, size), `NoActiveKeyError`,
    `AgencyNotFoundError`, the contract's errors, `ChainUnavailableError`, and
    `TransactionOutcomeUnknownError` when the recorded anchor is not mined in time.
    """
    # 1. Validate the request before anything is written.
    agency, requests = _checked(ledger, agency_id, requests)
    # The anchor carries the expiry on chain, where no holder can hide it: one per batch.
    expiries = {_expiry(request) for request in requests}
    if len(expiries) > 1:
        raise InvalidRequestError(
            "the documents of one batch share one expiry (it is anchored on chain); "
            "issue documents with different expiries in separate batches",
            field="documents",
        )
    batch_expiry = expiries.pop()

    # 2. Pick the signing key.
    key_row = ledger.store.active_key(agency_id, ledger.registry.chain_time(), ledger.settings.clock_margin_seconds)
    if key_row is None:
        raise _no_key(agency_id)
    signer = ledger.vault.decrypt(key_row.encrypted_key, key_row.address)

    # 3. Wrap the documents into one Merkle batch.
    wrapped = wrap_documents([build_document_data(ledger, agency, request) for request in requests])
    root = HexHash(wrapped[0]["signature"]["merkleRoot"])
    documents = [
        NewDocument(
            target_hash=document["signature"]["targetHash"],
            document_type=request.document_type,
            proof=document["signature"]["proof"],
            wrapped=document,
        )
        for document, request in zip(wrapped, requests, strict=True)
    ]

    # 4. Record and send the anchor, then wait for its block.
    batch = NewBatch(
        root=root, agency_id=agency_id, key_address=key_row.address, expires_at=batch_expiry, documents=documents
    )
    row = anchor_batch(ledger, batch, signer)
    receipt = wait_for_anchor(ledger, row, timeout=ledger.settings.receipt_timeout_seconds)
    return IssuedBatch(
        merkle_root=root,
        agency_id=agency_id,
        key=key_row.address,
        receipt=receipt,
        expires_at=batch_expiry,
        documents=wrapped,
    )


def accept_documents(ledger: Ledger, agency_id: str, requests: Sequence[IssueRequest]) -> list[dict[str, Any]]:
    """Validate and salt `requests`, and queue them for the agency's next batch; returns them salted.

    Needs no chain: documents are accepted while the chain is down, and anchored when it returns.
    Raises `InvalidRequestError`, `AgencyNotFoundError`, `NoActiveKeyError`, and `QueueFullError`
    when the agency's queue is full.
    """
    agency, requests = _checked(ledger, agency_id, requests)
    try:
        now = ledger.registry.chain_time()  # key windows are judged by the chain's clock...
    except ChainUnavailableError:
        now = ledger.now()  # ...and, while the chain is down, by ours: accepting must not need the chain
    if ledger.store.active_key(agency_id, now, ledger.settings.clock_margin_seconds) is None:
        raise _no_key(agency_id)
    limit = ledger.settings.queue_limit
    waiting = ledger.queue.depth(agency_id)
    if waiting + len(requests) > limit:
        raise QueueFullError(
            f"agency '{agency_id}' has {waiting} documents waiting to be anchored (at most {limit}); "
            "try again in a few seconds"
        )
    queued = salted_documents(ledger, agency, requests)
    ledger.queue.enqueue(agency_id, queued, now=time_now())
    return [{**item.salted, "signature": {"targetHash": item.target_hash}} for item in queued]


def salted_documents(ledger: Ledger, agency: AgencyRow, requests: Sequence[IssueRequest]) -> list[QueuedDocument]:
    """`requests` (checked, with their expiries) built and salted, as the queue takes them."""
    salts = SaltSource()  # one source for the requests: a read of the system's randomness per 256 salts
    salted = [salt_document(build_document_data(ledger, agency, request), salt=salts) for request in requests]
    return [
        QueuedDocument(
            target_hash=digest, document_type=request.document_type, expires_at=_expiry(request), salted=item
        )
        for (item, digest), request in zip(salted, requests, strict=True)
    ]


def issuance_problem(ledger: Ledger, agency_id: str, request: IssueRequest, now: int) -> str | None:
    """Why `request`, whose fields its schema accepts, cannot be issued by `agency_id` at unix time `now`
    (another agency's type, an expiry past), or None."""
    owner = ledger.catalog.get(request.document_type).definition.owner
    if owner is not None and owner != agency_id:
        return f"document type '{request.document_type}' belongs to agency '{owner}'"
    expires = with_expiry(request).expires_at
    if expires is not None and expires.timestamp() <= now:
        return f"it expires on {expires.date().isoformat()}, which is past"
    return None


def reconcile_batch(ledger: Ledger, batch: BatchRow) -> BatchRow:
    """A pending or mined batch brought up to date with what the chain says (nothing is sent).

    The pipeline's transactions for it are looked up; a batch recorded before the pipeline
    kept them is marked anchored if the chain holds its root for its agency.
    """
    if batch.state not in (BatchState.PENDING, BatchState.MINED):
        return batch
    rows = ledger.outbox.transactions_of(batch.root)
    if rows:
        observe(ledger, rows)
    else:
        view = ledger.registry.inspect(batch.root, batch.root)
        if view.batch_status is ChainStatus.NONE or view.agency_id != batch.agency_id:
            return batch
        tx_hash = ledger.registry.anchor_transaction(batch.root, view.anchored_block) or batch.tx_hash or ""
        receipt = TxReceipt(
            tx_hash=tx_hash, block_number=view.anchored_block, block_timestamp=view.anchored_at, gas_used=0
        )
        ledger.store.mark_anchored(batch.root, receipt)
    settled = ledger.store.get_batch(batch.root)
    assert settled is not None
    return settled
