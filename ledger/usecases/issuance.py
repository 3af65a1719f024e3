"""Issuing documents: validate, wrap, record the intent, anchor, confirm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from ledger.documents.wrap import wrap_documents
from ledger.domain import ChainStatus, HexHash, TxReceipt
from ledger.errors import (
    InvalidRequestError,
    NoActiveKeyError,
    SijillError,
    TransactionOutcomeUnknownError,
)
from ledger.store.models import AgencyRow, BatchRow
from ledger.store.repository import NewDocument
from ledger.usecases.agencies import require_agency
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
    data: dict[str, Any] = {
        "documentType": request.document_type,
        "issuers": [issuer],
        "sijill": {
            "version": 1,
            "chainId": ledger.network.chain_id,
            "registry": ledger.network.registry,
            "agencyId": agency_id,
            "agencyName": {"en": agency_name, **({"ar": name_ar} if name_ar else {})},
        },
        "subject": request.fields,
    }
    if request.expires_at is not None:
        data["validUntil"] = request.expires_at.isoformat()
    return data


def issue_documents(ledger: Ledger, agency_id: str, requests: Sequence[IssueRequest]) -> IssuedBatch:
    """Issue `requests` as one batch under one anchor for `agency_id`.

    Steps: validate every document against its schema; wrap them; record the batch
    as pending; anchor its root with the agency's active key; mark it anchored. A
    failure before the anchor is sent marks the batch failed and nothing is
    issued; a sent anchor whose receipt does not come leaves it pending.

    Raises `InvalidRequestError` (schema, expiry, size), `NoActiveKeyError`,
    `AgencyNotFoundError`, and chain errors (`ChainUnavailableError`, ...).
    """
    # 1. Validate the request before anything is written.
    if not requests:
        raise InvalidRequestError("a batch needs at least one document", field="documents")
    limit = ledger.settings.max_batch_size
    if len(requests) > limit:
        raise InvalidRequestError(f"a batch holds at most {limit} documents, got {len(requests)}", field="documents")
    agency = require_agency(ledger, agency_id)
    now = ledger.now()
    for index, request in enumerate(requests):
        try:
            ledger.catalog.validate(request.document_type, request.fields)
        except InvalidRequestError as error:
            prefix = f"documents.{index}." if len(requests) > 1 else ""
            raise type(error)(f"{prefix}{error.message}", field=f"{prefix}{error.field or ''}") from error
    requests = [with_expiry(request) for request in requests]
    for request in requests:
        if request.expires_at is not None and request.expires_at.timestamp() <= now:
            raise InvalidRequestError(
                "'expires_at' (or the 'expiryDate' field) must be in the future", field="expires_at"
            )
    # The anchor carries the expiry on chain, where no holder can hide it: one per batch.
    expiries = {int(r.expires_at.timestamp()) if r.expires_at else None for r in requests}
    if len(expiries) > 1:
        raise InvalidRequestError(
            "the documents of one batch share one expiry (it is anchored on chain); "
            "issue documents with different expiries in separate batches",
            field="documents",
        )
    batch_expiry = expiries.pop()

    # 2. Pick the signing key.
    key_row = ledger.store.active_key(agency_id, ledger.registry.chain_time())
    if key_row is None:
        raise NoActiveKeyError(
            f"agency '{agency_id}' has no issuer key valid now; the admin adds one with "
            f"POST /v1/admin/agencies/{agency_id}/keys or `sijill key add {agency_id}`"
        )
    signer = ledger.vault.decrypt(key_row.encrypted_key)

    # 3. Wrap the documents into one Merkle batch.
    data = [build_document_data(ledger, agency, request) for request in requests]
    wrapped = wrap_documents(data)
    root = HexHash(wrapped[0]["signature"]["merkleRoot"])
    # 4. Record the intent, then anchor.
    ledger.store.record_intent(
        root=root,
        agency_id=agency_id,
        key_address=key_row.address,
        expires_at=batch_expiry,
        documents=[
            NewDocument(
                target_hash=document["signature"]["targetHash"],
                document_type=request.document_type,
                proof=document["signature"]["proof"],
                wrapped=document,
            )
            for document, request in zip(wrapped, requests, strict=True)
        ],
    )
    try:
        receipt = ledger.registry.anchor(signer, root, len(wrapped), batch_expiry or 0)
    except TransactionOutcomeUnknownError as error:
        ledger.store.mark_unconfirmed(root, error.tx_hash, error.message)
        raise
    except SijillError as error:
        ledger.store.mark_failed(root, error.message)
        raise

    # 5. Confirm.
    ledger.store.mark_anchored(root, receipt)
    return IssuedBatch(
        merkle_root=root,
        agency_id=agency_id,
        key=key_row.address,
        receipt=receipt,
        expires_at=batch_expiry,
        documents=wrapped,
    )


def reconcile_batch(ledger: Ledger, batch: BatchRow) -> BatchRow:
    """Settle a pending batch from what the chain says.

    A batch stays pending when its anchor was sent but not confirmed. If the chain
    holds its root for its agency, it is marked anchored (with the transaction read
    from the anchor's event); otherwise it stays pending, since the transaction may
    still be mined.
    """
    if batch.state != "pending":
        return batch
    view = ledger.registry.inspect(batch.root, batch.root)
    if view.batch_status is ChainStatus.NONE or view.agency_id != batch.agency_id:
        return batch
    tx_hash = ledger.registry.anchor_transaction(batch.root, view.anchored_block) or batch.tx_hash or ""
    receipt = TxReceipt(tx_hash=tx_hash, block_number=view.anchored_block, block_timestamp=view.anchored_at, gas_used=0)
    ledger.store.mark_anchored(batch.root, receipt)
    settled = ledger.store.get_batch(batch.root)
    assert settled is not None
    return settled
