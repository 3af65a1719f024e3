"""The issuance queue: documents accepted (validated and salted), waiting for a batch.

A document leaves the queue in the database transaction that records its batch
(`Outbox.record_anchor`), so it is always in exactly one of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ledger.errors import ConflictError
from ledger.store.models import QueuedDocumentRow
from ledger.store.repository import Store


@dataclass(frozen=True, slots=True)
class QueuedDocument:
    """A salted document accepted for issuance."""

    target_hash: str
    document_type: str
    expires_at: int | None
    salted: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Queued:
    """A queued document as `Queue.queued` reads it."""

    position: int
    target_hash: str
    document_type: str
    expires_at: int | None
    salted: dict[str, Any]
    accepted_at: float


def queue_rows(agency_id: str, documents: Sequence[QueuedDocument], *, now: float) -> list[dict[str, Any]]:
    """The rows of `queued_documents` that queue `documents` for `agency_id`, accepted at `now`."""
    return [
        {
            "target_hash": document.target_hash,
            "agency_id": agency_id,
            "document_type": document.document_type,
            "expires_at": document.expires_at,
            "salted": document.salted,
            "accepted_at": now,
        }
        for document in documents
    ]


class Queue:
    """The queue's table, in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue(self, agency_id: str, documents: Sequence[QueuedDocument], *, now: float) -> None:
        """Add accepted documents at the end of an agency's queue."""
        try:
            with self._store.session() as session:
                session.execute(insert(QueuedDocumentRow), queue_rows(agency_id, documents, now=now))
        except IntegrityError as error:
            raise ConflictError("one of these documents was accepted already") from error

    def depth(self, agency_id: str) -> int:
        """How many documents of an agency wait for a batch."""
        with self._store.session() as session:
            query = select(func.count()).select_from(QueuedDocumentRow).where(QueuedDocumentRow.agency_id == agency_id)
            return int(session.scalar(query) or 0)

    def total_depth(self) -> int:
        """How many documents of every agency wait for a batch."""
        with self._store.session() as session:
            return int(session.scalar(select(func.count()).select_from(QueuedDocumentRow)) or 0)

    def queued(self, agency_id: str, limit: int) -> list[Queued]:
        """The oldest waiting documents of an agency that share the oldest one's expiry (plain rows, no ORM)."""
        table = QueuedDocumentRow.__table__
        with self._store.session() as session:
            oldest = session.execute(
                select(table.c.expires_at).where(table.c.agency_id == agency_id).order_by(table.c.position).limit(1)
            ).first()
            if oldest is None:
                return []
            expiry = oldest[0]
            same_expiry = table.c.expires_at.is_(None) if expiry is None else table.c.expires_at == expiry
            query = (
                select(
                    table.c.position,
                    table.c.target_hash,
                    table.c.document_type,
                    table.c.expires_at,
                    table.c.salted,
                    table.c.accepted_at,
                )
                .where(table.c.agency_id == agency_id, same_expiry)
                .order_by(table.c.position)
                .limit(limit)
            )
            return [Queued(*row) for row in session.execute(query)]

    def get(self, target_hash: str) -> QueuedDocumentRow | None:
        """A document still waiting for its batch, or None."""
        with self._store.session() as session:
            return session.scalars(
                select(QueuedDocumentRow).where(QueuedDocumentRow.target_hash == target_hash)
            ).first()

    def agencies(self) -> set[str]:
        """Agencies with documents waiting."""
        with self._store.session() as session:
            return set(session.scalars(select(QueuedDocumentRow.agency_id).distinct()))
