"""Closing queued documents into batches: at `batch_documents` documents or after `batch_wait_ms`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledger.documents.wrap import batch_documents
from ledger.errors import InvalidRequestError
from ledger.store.outbox import NewBatch
from ledger.store.repository import NewDocument
from ledger.usecases.anchoring import anchor_batch
from ledger.usecases.context import Ledger

log = logging.getLogger(__name__)


def batch_due(count: int, oldest_age_ms: float, *, size: int, wait_ms: int) -> bool:
    """Whether waiting documents make a batch now: enough of them, or the oldest waited long enough."""
    return count > 0 and (count >= size or oldest_age_ms >= wait_ms)


def close_due_batches(
    ledger: Ledger, agency_id: str, *, now: float, still_held: Callable[[], bool] = lambda: True
) -> list[str]:
    """Anchor every batch the agency's queue makes now; returns their roots.

    Documents with the same expiry share a batch (the anchor carries it). A batch is recorded
    with its signed anchor and taken off the queue in one database transaction, then sent.
    A batch the contract refuses for its own content (an expiry that has passed while it
    waited) is recorded as failed, with the reason its documents' status shows, and the queue
    moves on. `still_held` is asked before each batch (a worker renews its lease there).
    Raises the chain's and the contract's other errors; what was not recorded stays queued.
    """
    settings = ledger.settings
    roots: list[str] = []
    while True:
        rows = ledger.queue.queued(agency_id, settings.batch_documents)
        if not still_held():
            return roots
        if not rows or not batch_due(
            len(rows), (now - rows[0].accepted_at) * 1000, size=settings.batch_documents, wait_ms=settings.batch_wait_ms
        ):
            return roots
        key_row = ledger.store.active_key(agency_id, ledger.registry.chain_time(), ledger.settings.clock_margin_seconds)
        if key_row is None:
            log.warning("agency %s has documents queued but no issuer key valid now", agency_id)
            return roots
        wrapped = batch_documents([(row.salted, row.target_hash) for row in rows])
        root = wrapped[0]["signature"]["merkleRoot"]
        batch = NewBatch(
            root=root,
            agency_id=agency_id,
            key_address=key_row.address,
            expires_at=rows[0].expires_at,
            documents=[
                NewDocument(
                    target_hash=row.target_hash,
                    document_type=row.document_type,
                    proof=document["signature"]["proof"],
                    wrapped=document,
                )
                for row, document in zip(rows, wrapped, strict=True)
            ],
        )
        queued = tuple(row.position for row in rows)
        try:
            anchor_batch(ledger, batch, ledger.vault.decrypt(key_row.encrypted_key, key_row.address), queued=queued)
        except InvalidRequestError as error:  # e.g. its expiry passed while it waited: it never can be
            log.warning("agency %s: batch %s refused for good: %s", agency_id, root, error.message)
            ledger.outbox.record_refused(batch, queued=queued, error=error.message)
        roots.append(root)
