"""Revoking, suspending and reinstating; reading a document's record and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ledger.chain.signer import Signer
from ledger.documents.merkle import root_from_proof
from ledger.domain import (
    ON_CHAIN,
    AnchorView,
    BatchState,
    ChainStatus,
    DocumentStage,
    HexHash,
    ReasonCode,
    TxReceipt,
    normalize_hash,
)
from ledger.errors import ConflictError, DocumentNotFoundError, NoActiveKeyError, PermissionDeniedError
from ledger.store.models import BatchRow, DocumentRow
from ledger.usecases.actors import Actor, Scope
from ledger.usecases.context import Ledger
from ledger.usecases.council import enact
from ledger.usecases.issuance import reconcile_batch
from ledger.usecases.sending import send_call
from ledger.verification import current_status, reason_name


class Action(StrEnum):
    """A change of status."""

    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


_NEW_STATUS = {
    Action.REVOKE: ChainStatus.REVOKED,
    Action.SUSPEND: ChainStatus.SUSPENDED,
    Action.REINSTATE: ChainStatus.ACTIVE,
}


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A mined change: what, on which scope, and the transaction."""

    hash: HexHash
    scope: str
    action: Action
    status: str
    reason: ReasonCode
    receipt: TxReceipt


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """What the store and the chain say about a document or batch."""

    batch: BatchRow
    document: DocumentRow | None
    chain: AnchorView | None
    now: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary without the document's content."""
        batch, document, view = self.batch, self.document, self.chain
        status = effective_status(view, self.now) if view is not None else None
        return {
            "target_hash": document.target_hash if document else None,
            "merkle_root": batch.root,
            "document_type": document.document_type if document else None,
            "agency_id": batch.agency_id,
            "stage": DocumentStage.of(BatchState(batch.state)),
            "issuance_state": batch.state,
            "issuance_error": batch.error if batch.state != BatchState.ANCHORED else None,
            "status": status,
            "reason": _reason(view) if view is not None else None,
            "document_count": batch.document_count,
            "anchor": {
                "transaction": batch.tx_hash,
                "block_number": batch.block_number,
                "anchored_at": _iso(batch.anchored_at),
                "expires_at": _iso(batch.expires_at),
                "key": batch.key_address,
            },
        }


@dataclass(frozen=True, slots=True)
class QueuedRecord:
    """A document accepted and waiting for its batch: nothing is on chain yet."""

    target_hash: str
    document_type: str
    agency_id: str

    def as_dict(self) -> dict[str, Any]:
        """The same shape as a `DocumentRecord`'s, at the first stage."""
        return {
            "target_hash": self.target_hash,
            "merkle_root": None,
            "document_type": self.document_type,
            "agency_id": self.agency_id,
            "stage": DocumentStage.ACCEPTED,
            "issuance_state": "accepted",
            "issuance_error": None,
            "status": None,
            "reason": None,
            "document_count": None,
            "anchor": None,
        }


def _iso(timestamp: int | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def effective_status(view: AnchorView, now: int) -> str:
    """The status a verifier would see, from the batch's and the document's own records."""
    if view.batch_status is ChainStatus.NONE:
        return "NOT_ISSUED"
    status, _reason, _scope = current_status(view)
    if status is not ChainStatus.ACTIVE:
        return status.name
    if view.expires_at and view.expires_at <= now:
        return "EXPIRED"
    return "ACTIVE"


def _reason(view: AnchorView) -> str | None:
    status, reason, _scope = current_status(view)
    return reason_name(reason) if status in (ChainStatus.REVOKED, ChainStatus.SUSPENDED) else None


def get_record(ledger: Ledger, hash_hex: str) -> DocumentRecord | QueuedRecord:
    """The record of a document (by target hash) or batch (by root), with its live chain status;
    for a document still waiting for its batch, the record of its stage (ACCEPTED).

    Raises `InvalidRequestError` for a malformed hash, `DocumentNotFoundError`, and
    `ChainUnavailableError` when the chain cannot be read.
    """
    wanted = normalize_hash(hash_hex, "target_hash")
    try:
        batch, document = ledger.store.find(wanted)
    except DocumentNotFoundError:
        queued = ledger.queue.get(wanted)
        if queued is not None:
            return QueuedRecord(target_hash=wanted, document_type=queued.document_type, agency_id=queued.agency_id)
        # It may have left the queue for its batch between the two reads (one transaction moves it).
        batch, document = ledger.store.find(wanted)
    batch = reconcile_batch(ledger, batch)
    if batch.state == BatchState.FAILED:
        raise DocumentNotFoundError(f"{wanted} was never issued: anchoring its batch failed ({batch.error})")
    view = None
    if batch.state in ON_CHAIN:
        target = document.target_hash if document else batch.root
        view = ledger.registry.with_own_revocation(target, ledger.registry.inspect(target, batch.root))
    return DocumentRecord(batch=batch, document=document, chain=view, now=ledger.now())


def change_status(ledger: Ledger, actor: Actor, hash_hex: str, action: Action, reason: ReasonCode) -> StatusChange:
    """Revoke, suspend or reinstate a document (by target hash) or a whole batch (by root).

    The owning agency may do all three; the admin may only revoke. Raises
    `PermissionDeniedError`, `DocumentNotFoundError`, `ConflictError` (not
    anchored yet, already revoked, ...), and chain errors.
    """
    wanted = normalize_hash(hash_hex, "target_hash")
    batch, document = ledger.store.find(wanted)
    if actor.is_admin and action is not Action.REVOKE:
        raise PermissionDeniedError(f"the admin may revoke but not {action.value}; the issuing agency may")
    actor.require_owner(Scope.REVOKE, batch.agency_id, wanted)
    batch = reconcile_batch(ledger, batch)
    if batch.state not in ON_CHAIN:
        raise ConflictError(f"batch {batch.root} is {batch.state}, not anchored; there is nothing to change yet")
    single = document is None or document.target_hash == batch.root
    scope = "batch" if document is None else "document"
    registry = ledger.registry
    root = HexHash(batch.root)
    if document is not None and not single and root_from_proof(wanted, document.proof) != batch.root:
        raise ConflictError(f"the stored proof of {wanted} does not lead to its batch root {batch.root}")
    if actor.is_admin and actor.agency_id != batch.agency_id:
        # Another agency's document: only the council revokes it, in an emergency, with the reason on chain.
        proof = [] if single or document is None else document.proof
        note = f"emergency revocation by the council of agency '{batch.agency_id}' ({reason.name.lower()})"
        arguments = {"hash": root if single else wanted, "proof": proof, "reason": int(reason), "note": note}
        receipt = enact(ledger, "emergency-revoke", arguments)
    else:
        of_document = None if single or document is None else document.proof
        call = registry.status_call(action.value, root if single else wanted, of_document, int(reason))
        receipt = send_call(ledger, _agency_signer(ledger, batch), registry.address, call)
    status = _NEW_STATUS[action]
    stored_reason = 0 if action is Action.REINSTATE else int(reason)
    ledger.store.record_status_change(
        hash_hex=batch.root if single else wanted,
        scope="batch" if single else "document",
        action=action.value,
        status=status,
        reason=stored_reason,
        actor=actor.label,
        receipt=receipt,
    )
    return StatusChange(hash=wanted, scope=scope, action=action, status=status, reason=reason, receipt=receipt)


def _agency_signer(ledger: Ledger, batch: BatchRow) -> Signer:
    key = ledger.store.active_key(batch.agency_id, ledger.registry.chain_time(), ledger.settings.clock_margin_seconds)
    if key is None:
        raise NoActiveKeyError(f"agency '{batch.agency_id}' has no issuer key valid now")
    return ledger.vault.decrypt(key.encrypted_key, key.address)
