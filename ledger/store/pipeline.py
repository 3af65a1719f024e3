"""The issuance pipeline's storage: the queue, the outbox of signed transactions, nonces, leases.

Everything that must survive a crash is written here before the chain hears of it: a batch,
its documents and its signed anchor transaction are recorded in one database transaction,
with the nonce allocated in that same transaction, so a nonce is never handed out twice and
never lost (whatever is recorded gets broadcast, however often the process dies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from ledger.domain import Fees, SignedTransaction
from ledger.errors import ConflictError
from ledger.store.models import (
    BatchRow,
    DocumentRow,
    KeyNonceRow,
    LeaseRow,
    QueuedDocumentRow,
    TransactionRow,
    utcnow,
)
from ledger.store.repository import NewDocument, Store

LIVE = ("signed", "sent", "mined")


@dataclass(frozen=True, slots=True)
class QueuedDocument:
    """A salted document accepted for issuance."""

    target_hash: str
    document_type: str
    expires_at: int | None
    salted: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Queued:
    """A queued document as `queued` reads it."""

    position: int
    target_hash: str
    document_type: str
    expires_at: int | None
    salted: dict[str, Any]
    accepted_at: float


@dataclass(frozen=True, slots=True)
class NewBatch:
    """A batch about to be anchored: its root, owner, key, size and expiry."""

    root: str
    agency_id: str
    key_address: str
    expires_at: int | None
    documents: Sequence[NewDocument]


class PipelineStore:
    """The pipeline's tables, in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- the queue --------------------------------------------------------------

    def enqueue(self, agency_id: str, documents: Sequence[QueuedDocument], *, now: float) -> None:
        """Add accepted documents at the end of an agency's queue."""
        try:
            with self._store.session() as session:
                session.execute(
                    insert(QueuedDocumentRow),
                    [
                        {
                            "target_hash": document.target_hash,
                            "agency_id": agency_id,
                            "document_type": document.document_type,
                            "expires_at": document.expires_at,
                            "salted": document.salted,
                            "accepted_at": now,
                        }
                        for document in documents
                    ],
                )
        except IntegrityError as error:
            raise ConflictError("one of these documents was accepted already") from error

    def queue_depth(self, agency_id: str) -> int:
        """How many documents of an agency wait for a batch."""
        with self._store.session() as session:
            query = select(func.count()).select_from(QueuedDocumentRow).where(QueuedDocumentRow.agency_id == agency_id)
            return int(session.scalar(query) or 0)

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

    def get_queued(self, target_hash: str) -> QueuedDocumentRow | None:
        """A document still waiting for its batch, or None."""
        with self._store.session() as session:
            return session.scalars(
                select(QueuedDocumentRow).where(QueuedDocumentRow.target_hash == target_hash)
            ).first()

    def agencies_with_work(self) -> list[str]:
        """Agencies with documents waiting or transactions not yet final."""
        with self._store.session() as session:
            queued = select(QueuedDocumentRow.agency_id).distinct()
            live = (
                select(BatchRow.agency_id)
                .join(TransactionRow, TransactionRow.root == BatchRow.root)
                .where(TransactionRow.state.in_(LIVE))
                .distinct()
            )
            return sorted(set(session.scalars(queued)) | set(session.scalars(live)))

    # --- anchoring: one database transaction per batch ---------------------------

    def record_anchor(
        self,
        batch: NewBatch,
        *,
        chain_nonce: int,
        sign: Callable[[int], tuple[SignedTransaction, Fees]],
        queued: Sequence[int] = (),
        now: float,
    ) -> TransactionRow:
        """Record a batch, its documents and its signed anchor, and take its documents off the queue.

        The nonce is the key's next one (never below `chain_nonce`, the node's count), allocated
        in the same database transaction. Raises `ConflictError` if the batch exists already.
        """
        created = utcnow()
        try:
            with self._store.session() as session:
                nonce = _allocate_nonce(session, batch.key_address, chain_nonce)
                signed, fees = sign(nonce)
                session.add(
                    BatchRow(
                        root=batch.root,
                        agency_id=batch.agency_id,
                        key_address=batch.key_address,
                        document_count=len(batch.documents),
                        expires_at=batch.expires_at,
                        state="pending",
                        status="ACTIVE",
                        reason=0,
                        tx_hash=signed.tx_hash,
                    )
                )
                session.flush()
                session.execute(  # one executemany, no ORM objects: a batch holds up to thousands
                    insert(DocumentRow),
                    [
                        {
                            "target_hash": document.target_hash,
                            "batch_root": batch.root,
                            "document_type": document.document_type,
                            "proof": document.proof,
                            "wrapped": document.wrapped,
                            "status": "ACTIVE",
                            "reason": 0,
                            "created_at": created,
                        }
                        for document in batch.documents
                    ],
                )
                row = _transaction_row(batch.key_address, nonce, batch.root, signed, fees, now)
                session.add(row)
                if queued:
                    session.execute(delete(QueuedDocumentRow).where(QueuedDocumentRow.position.in_(queued)))
        except IntegrityError as error:
            raise ConflictError(f"batch {batch.root} or one of its documents is recorded already") from error
        return row

    def record_replacement(
        self,
        replaced: TransactionRow,
        *,
        sign: Callable[[int], tuple[SignedTransaction, Fees]],
        chain_nonce: int | None,
        now: float,
    ) -> TransactionRow:
        """Record `replaced`'s call signed again: with its nonce (higher fees), or, when `chain_nonce`
        is given (its nonce was taken by something else), with the key's next nonce, which is then
        allocated in the same database transaction and `replaced` can never be mined.
        """
        with self._store.session() as session:
            if chain_nonce is None:
                nonce = replaced.nonce
            else:
                nonce = _allocate_nonce(session, replaced.key_address, chain_nonce)
                session.execute(
                    update(TransactionRow).where(TransactionRow.tx_hash == replaced.tx_hash).values(state="superseded")
                )
            signed, fees = sign(nonce)
            row = _transaction_row(replaced.key_address, nonce, replaced.root, signed, fees, now)
            session.add(row)
        return row

    # --- settling ---------------------------------------------------------------

    def live_transactions(self, key_addresses: Sequence[str]) -> list[TransactionRow]:
        """Transactions of these keys not yet final, by nonce then age."""
        with self._store.session() as session:
            query = (
                select(TransactionRow)
                .where(TransactionRow.key_address.in_(key_addresses), TransactionRow.state.in_(LIVE))
                .order_by(TransactionRow.nonce, TransactionRow.created_at)
            )
            return list(session.scalars(query))

    def transactions_of(self, root: str) -> list[TransactionRow]:
        """Every transaction signed for a batch, oldest first."""
        with self._store.session() as session:
            query = select(TransactionRow).where(TransactionRow.root == root).order_by(TransactionRow.created_at)
            return list(session.scalars(query))

    def mark_sent(self, tx_hash: str, *, now: float) -> None:
        """The node accepted the transaction (again)."""
        with self._store.session() as session:
            session.execute(
                update(TransactionRow)
                .where(TransactionRow.tx_hash == tx_hash, TransactionRow.state == "signed")
                .values(state="sent", sent_at=now)
            )

    def mark_mined(
        self, row: TransactionRow, *, block_number: int, block_hash: str, block_time: int, final: bool
    ) -> None:
        """The transaction is in a block: its batch is mined (or anchored, once final).

        Any other transaction signed with the same nonce can never be mined now: superseded.
        """
        with self._store.session() as session:
            session.execute(
                update(TransactionRow)
                .where(TransactionRow.tx_hash == row.tx_hash)
                .values(state="final" if final else "mined", block_number=block_number, block_hash=block_hash)
            )
            session.execute(
                update(TransactionRow)
                .where(
                    TransactionRow.key_address == row.key_address,
                    TransactionRow.nonce == row.nonce,
                    TransactionRow.tx_hash != row.tx_hash,
                )
                .values(state="superseded")
            )
            if row.root is not None:
                session.execute(
                    update(BatchRow)
                    .where(BatchRow.root == row.root)
                    .values(
                        state="anchored" if final else "mined",
                        tx_hash=row.tx_hash,
                        block_number=block_number,
                        anchored_at=block_time,
                        error=None,
                    )
                )

    def mark_unmined(self, row: TransactionRow) -> None:
        """The block that held the transaction is gone (a reorg): back to sent, its batch back to pending."""
        with self._store.session() as session:
            session.execute(
                update(TransactionRow)
                .where(TransactionRow.tx_hash == row.tx_hash)
                .values(state="sent", block_number=None, block_hash=None)
            )
            if row.root is not None:
                session.execute(
                    update(BatchRow)
                    .where(BatchRow.root == row.root)
                    .values(state="pending", block_number=None, anchored_at=None)
                )

    def mark_failed(self, row: TransactionRow, error: str) -> None:
        """The transaction can never anchor its batch (mined but reverted, or refused for good)."""
        with self._store.session() as session:
            session.execute(update(TransactionRow).where(TransactionRow.tx_hash == row.tx_hash).values(state="failed"))
            if row.root is not None:
                session.execute(update(BatchRow).where(BatchRow.root == row.root).values(state="failed", error=error))

    # --- leases -----------------------------------------------------------------

    def acquire_lease(self, name: str, owner: str, *, seconds: float, now: float) -> bool:
        """Take or renew the lease `name` for `owner`: True if it is held (free, expired or ours)."""
        try:
            with self._store.session() as session:
                result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                    update(LeaseRow)
                    .where(LeaseRow.name == name, or_(LeaseRow.owner == owner, LeaseRow.expires_at < now))
                    .values(owner=owner, expires_at=now + seconds)
                )
                taken = result.rowcount
                if taken:
                    return True
                if session.get(LeaseRow, name) is not None:
                    return False
                session.add(LeaseRow(name=name, owner=owner, expires_at=now + seconds))
        except IntegrityError:
            return False  # another process created it first
        return True

    def release_lease(self, name: str, owner: str) -> None:
        """Give a lease back at once (on a clean stop), if `owner` holds it."""
        with self._store.session() as session:
            session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.owner == owner))

    def lease_owner(self, name: str, *, now: float) -> str | None:
        """Who holds a lease now, or None."""
        with self._store.session() as session:
            row = session.get(LeaseRow, name)
            return row.owner if row is not None and row.expires_at >= now else None


def _allocate_nonce(session: Any, key_address: str, chain_nonce: int) -> int:
    """The key's next nonce, taken under a row lock (PostgreSQL; SQLite has one writer at a time)."""
    row = session.get(KeyNonceRow, key_address, with_for_update=True)
    if row is None:
        nonce = chain_nonce
        session.add(KeyNonceRow(key_address=key_address, next_nonce=nonce + 1))
    else:
        nonce = max(row.next_nonce, chain_nonce)
        row.next_nonce = nonce + 1
    session.flush()
    return nonce


def _transaction_row(
    key_address: str, nonce: int, root: str | None, signed: SignedTransaction, fees: Fees, now: float
) -> TransactionRow:
    return TransactionRow(
        tx_hash=signed.tx_hash,
        key_address=key_address,
        nonce=nonce,
        root=root,
        raw=signed.raw,
        max_fee=str(fees.max_fee),
        priority_fee=str(fees.priority_fee),
        state="signed",
        created_at=now,
    )
