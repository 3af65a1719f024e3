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

from sqlalchemy import case, delete, func, insert, or_, select, update
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
        try:
            with self._store.session() as session:
                nonce = _allocate_nonce(session, batch.key_address, chain_nonce)
                signed, fees = sign(nonce)
                _add_batch(session, batch, state="pending", queued=queued, tx_hash=signed.tx_hash)
                row = _transaction_row(batch.key_address, nonce, batch.root, signed, fees, now)
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"batch {batch.root} or one of its documents is recorded already") from error
        return row

    def record_refused(self, batch: NewBatch, *, queued: Sequence[int], error: str) -> None:
        """Record a batch the contract refuses for good as failed, with its documents, off the queue.

        Their status then says why (`get_record`), and the documents behind them move on.
        """
        with self._store.session() as session:
            _add_batch(session, batch, state="failed", queued=queued, error=error)

    def note_error(self, root: str, error: str) -> None:
        """Say on a pending batch why its anchor is not going through (it is still being tried)."""
        with self._store.session() as session:
            session.execute(
                update(BatchRow).where(BatchRow.root == root, BatchRow.state == "pending").values(error=error)
            )

    def record_replacement(
        self,
        group: Sequence[TransactionRow],
        *,
        sign: Callable[[int], tuple[SignedTransaction, Fees]],
        chain_nonce: int | None,
        now: float,
    ) -> TransactionRow | None:
        """Record the call of a nonce's signatures (`group`, oldest first) signed again.

        With `chain_nonce` None: the same nonce, and `sign` pays more than the newest signature.
        Otherwise the nonce was taken by something else: the key's next nonce is allocated in the
        same database transaction and every signature of `group` is superseded. Returns None (and
        records nothing) when the group changed meanwhile: a signature mined, or a newer one recorded.
        """
        newest = group[-1]
        with self._store.session() as session:
            same_nonce = (TransactionRow.key_address == newest.key_address) & (TransactionRow.nonce == newest.nonce)
            signatures = session.execute(select(TransactionRow.tx_hash, TransactionRow.state).where(same_nonce)).all()
            if {tx_hash for tx_hash, _ in signatures} != {row.tx_hash for row in group} or any(
                state not in LIVE for _, state in signatures
            ):
                return None
            if chain_nonce is None:
                nonce = newest.nonce
            else:
                nonce = _allocate_nonce(session, newest.key_address, chain_nonce)
                session.execute(update(TransactionRow).where(same_nonce).values(state="superseded"))
            signed, fees = sign(nonce)
            row = _transaction_row(newest.key_address, nonce, newest.root, signed, fees, now)
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

    def final_transactions(self, key_addresses: Sequence[str], *, limit: int) -> list[TransactionRow]:
        """The `limit` final transactions of these keys mined last, the latest first."""
        with self._store.session() as session:
            query = (
                select(TransactionRow)
                .where(TransactionRow.key_address.in_(key_addresses), TransactionRow.state == "final")
                .order_by(TransactionRow.block_number.desc())
                .limit(limit)
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
        """The block that held the transaction is gone (a reorg, a chain restarted from an older state):
        back to sent, its batch back to pending."""
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
        """The transaction can never anchor its batch (mined but reverted, or refused for good).

        The batch fails with it only if no other signature of it may still land or has landed.
        """
        with self._store.session() as session:
            session.execute(update(TransactionRow).where(TransactionRow.tx_hash == row.tx_hash).values(state="failed"))
            if row.root is None:
                return
            others = session.scalar(
                select(func.count())
                .select_from(TransactionRow)
                .where(
                    TransactionRow.root == row.root,
                    TransactionRow.tx_hash != row.tx_hash,
                    TransactionRow.state.in_((*LIVE, "final")),
                )
            )
            if not others:
                session.execute(
                    update(BatchRow)
                    .where(BatchRow.root == row.root, BatchRow.state.not_in(("mined", "anchored")))
                    .values(state="failed", error=error)
                )

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


def _add_batch(
    session: Any,
    batch: NewBatch,
    *,
    state: str,
    queued: Sequence[int],
    tx_hash: str | None = None,
    error: str | None = None,
) -> None:
    """A batch and its documents (one executemany, no ORM objects: up to thousands), off the queue."""
    session.add(
        BatchRow(
            root=batch.root,
            agency_id=batch.agency_id,
            key_address=batch.key_address,
            document_count=len(batch.documents),
            expires_at=batch.expires_at,
            state=state,
            status="ACTIVE",
            reason=0,
            tx_hash=tx_hash,
            error=error,
        )
    )
    session.flush()
    if batch.documents:
        created = utcnow()
        session.execute(
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
    if queued:
        session.execute(delete(QueuedDocumentRow).where(QueuedDocumentRow.position.in_(queued)))


def _allocate_nonce(session: Any, key_address: str, chain_nonce: int) -> int:
    """The key's next nonce: the stored next one, or the node's count if that is higher.

    One UPDATE ... RETURNING reads and moves the counter, so its write lock serialises every
    allocator, on SQLite as on PostgreSQL (a SELECT first would let two processes read the same
    value). Every key gets its row when it is added (`Store.add_key`).
    """
    stored = KeyNonceRow.next_nonce
    allocated = session.execute(
        update(KeyNonceRow)
        .where(KeyNonceRow.key_address == key_address)
        .values(next_nonce=case((stored >= chain_nonce, stored), else_=chain_nonce) + 1)
        .returning(KeyNonceRow.next_nonce)
    ).scalar_one_or_none()
    if allocated is None:
        raise ConflictError(f"issuer key {key_address} has no nonce counter; it was not added through Sijill")
    return int(allocated) - 1


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
