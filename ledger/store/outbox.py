"""The outbox: every transaction the service signs, from signature to final.

Everything that must survive a crash is written here before the chain hears of it: a batch,
its documents and its signed anchor transaction are recorded in one database transaction,
with the nonce allocated in that same transaction and the documents taken off the queue, so a
nonce is never handed out twice and never lost (whatever is recorded gets broadcast, however
often the process dies). Every other transaction (a status change, a council member's approval,
an agency admin's key change, a transfer) is recorded the same way, with no batch (`root`
None), so that every sender's nonces come from one counter, across processes.

Every move of a batch or a transaction made from the chain's answers goes through one checked
`_move` against its lifecycle (`ledger.domain.TRANSITIONS`): a move the table does not allow
raises `TransitionError` and changes nothing. The few conditional updates
(signed to sent, a pending or mined batch to failed, superseding) name in their WHERE clause the
only states they move from, each a move the table allows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from ledger.domain import (
    LIVE,
    TRANSITIONS,
    BatchState,
    ChainStatus,
    Fees,
    SignedTransaction,
    TransactionState,
    allowed,
    require_transition,
)
from ledger.errors import ConflictError
from ledger.store.models import (
    BatchRow,
    DocumentRow,
    IssuerKeyRow,
    KeyNonceRow,
    QueuedDocumentRow,
    StatusChangeRow,
    TransactionRow,
    utcnow,
)
from ledger.store.repository import NewDocument, Store


class _KeptError(Exception):
    """A release that must change nothing (raised inside its database transaction to roll it back)."""


@dataclass(frozen=True, slots=True)
class NewBatch:
    """A batch about to be anchored: its root, owner, key, size and expiry."""

    root: str
    agency_id: str
    key_address: str
    expires_at: int | None
    documents: Sequence[NewDocument]


class Outbox:
    """The batches' and transactions' tables, in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def agencies(self) -> set[str]:
        """Agencies whose issuer keys have transactions not yet final (anchors or status changes)."""
        with self._store.session() as session:
            live = select(TransactionRow.key_address).where(TransactionRow.state.in_(LIVE))
            query = select(IssuerKeyRow.agency_id).where(IssuerKeyRow.address.in_(live)).distinct()
            return set(session.scalars(query))

    def unsettled_batches(self) -> int:
        """How many batches have their anchor signed and not yet final (pending or mined)."""
        with self._store.session() as session:
            query = (
                select(func.count())
                .select_from(BatchRow)
                .where(BatchRow.state.in_((BatchState.PENDING, BatchState.MINED)))
            )
            return int(session.scalar(query) or 0)

    def other_senders(self) -> set[str]:
        """Senders other than issuer keys (admins, council members, the operator) with transactions not yet final."""
        with self._store.session() as session:
            query = (
                select(TransactionRow.key_address)
                .where(TransactionRow.state.in_(LIVE), TransactionRow.key_address.not_in(select(IssuerKeyRow.address)))
                .distinct()
            )
            return set(session.scalars(query))

    def record_call(
        self, sender: str, *, chain_nonce: int, sign: Callable[[int], tuple[SignedTransaction, Fees]], now: float
    ) -> TransactionRow:
        """Record a signed transaction of `sender` that anchors no batch, with the sender's next nonce
        (never below `chain_nonce`, the node's count) allocated in the same database transaction."""
        with self._store.session() as session:
            nonce = _allocate_nonce(session, sender, chain_nonce, create=True)
            signed, fees = sign(nonce)
            row = _transaction_row(sender, nonce, None, signed, fees, now)
            session.add(row)
        return row

    def release(self, row: TransactionRow) -> bool:
        """Forget a recorded transaction the node never received and give its nonce back; False (nothing
        changed) when a later nonce of its sender was allocated meanwhile or it was broadcast after all:
        a gap in a sender's nonces would hold back everything it sends after it."""
        try:
            with self._store.session() as session:
                deleted: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                    delete(TransactionRow).where(
                        TransactionRow.tx_hash == row.tx_hash, TransactionRow.state == TransactionState.SIGNED
                    )
                )
                given_back: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                    update(KeyNonceRow)
                    .where(KeyNonceRow.key_address == row.key_address, KeyNonceRow.next_nonce == row.nonce + 1)
                    .values(next_nonce=row.nonce)
                )
                if deleted.rowcount != 1 or given_back.rowcount != 1:
                    raise _KeptError  # rolls the delete back
        except _KeptError:
            return False
        return True

    def signatures(self, key_address: str, nonce: int) -> list[TransactionRow]:
        """Every transaction signed with one nonce of one sender, oldest first."""
        with self._store.session() as session:
            query = (
                select(TransactionRow)
                .where(TransactionRow.key_address == key_address, TransactionRow.nonce == nonce)
                .order_by(TransactionRow.created_at)
            )
            return list(session.scalars(query))

    def signed_after(self, key_address: str, nonce: int, created_at: float) -> list[TransactionRow]:
        """The sender's transactions with a later nonce, signed at or after `created_at` and not superseded,
        oldest first: where a call re-signed with a new nonce went."""
        with self._store.session() as session:
            query = (
                select(TransactionRow)
                .where(
                    TransactionRow.key_address == key_address,
                    TransactionRow.nonce > nonce,
                    TransactionRow.created_at >= created_at,
                    TransactionRow.state != TransactionState.SUPERSEDED,
                )
                .order_by(TransactionRow.created_at)
            )
            return list(session.scalars(query))

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
                _add_batch(session, batch, state=BatchState.PENDING, queued=queued, tx_hash=signed.tx_hash)
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
            _add_batch(session, batch, state=BatchState.FAILED, queued=queued, error=error)

    def note_error(self, root: str, error: str) -> None:
        """Say on a pending batch why its anchor is not going through (it is still being tried)."""
        with self._store.session() as session:
            session.execute(
                update(BatchRow).where(BatchRow.root == root, BatchRow.state == BatchState.PENDING).values(error=error)
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
                _supersede(session, same_nonce)
            signed, fees = sign(nonce)
            row = _transaction_row(newest.key_address, nonce, newest.root, signed, fees, now)
            session.add(row)
        return row

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
                .where(TransactionRow.key_address.in_(key_addresses), TransactionRow.state == TransactionState.FINAL)
                .order_by(TransactionRow.block_number.desc())
                .limit(limit)
            )
            return list(session.scalars(query))

    def held_from(self, key_addresses: Sequence[str]) -> dict[str, int]:
        """For each of these keys with a held transaction, the lowest held nonce."""
        with self._store.session() as session:
            query = (
                select(TransactionRow.key_address, func.min(TransactionRow.nonce))
                .where(TransactionRow.key_address.in_(key_addresses), TransactionRow.state == TransactionState.HELD)
                .group_by(TransactionRow.key_address)
            )
            return {key: int(nonce) for key, nonce in session.execute(query)}

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
                .where(TransactionRow.tx_hash == tx_hash, TransactionRow.state == TransactionState.SIGNED)
                .values(state=TransactionState.SENT, sent_at=now)
            )

    def mark_mined(
        self, row: TransactionRow, *, block_number: int, block_hash: str, block_time: int, final: bool
    ) -> bool:
        """The transaction is in a block: its batch is mined (or anchored, once final). True when this
        call moved it to that state (another observer may have done so a moment before).

        Any other transaction signed with the same nonce can never be mined now: superseded.
        """
        with self._store.session() as session:
            state = TransactionState.FINAL if final else TransactionState.MINED
            moved = _move_transaction(session, row.tx_hash, state, block_number=block_number, block_hash=block_hash)
            others = (
                (TransactionRow.key_address == row.key_address)
                & (TransactionRow.nonce == row.nonce)
                & (TransactionRow.tx_hash != row.tx_hash)
            )
            _supersede(session, others)
            if row.root is not None:
                _move_batch(
                    session,
                    row.root,
                    BatchState.ANCHORED if final else BatchState.MINED,
                    tx_hash=row.tx_hash,
                    block_number=block_number,
                    anchored_at=block_time,
                    error=None,
                )
        return moved

    def mark_unmined(self, row: TransactionRow) -> None:
        """The block that held the transaction is gone (a reorg, a chain restarted from an older state):
        back to sent, its batch back to pending."""
        with self._store.session() as session:
            _move_transaction(session, row.tx_hash, TransactionState.SENT, block_number=None, block_hash=None)
            if row.root is not None:
                _move_batch(session, row.root, BatchState.PENDING, block_number=None, anchored_at=None)

    def status_changed(self, root: str) -> bool:
        """Whether a revocation, suspension or reinstatement was recorded for batch `root` or one of its documents."""
        with self._store.session() as session:
            documents = select(DocumentRow.target_hash).where(DocumentRow.batch_root == root)
            query = select(StatusChangeRow.id).where(
                or_(StatusChangeRow.hash == root, StatusChangeRow.hash.in_(documents))
            )
            return session.scalar(query.limit(1)) is not None

    def hold_lost(self, row: TransactionRow, error: str) -> None:
        """The chain lost the block of a final anchor whose batch's status had changed since: the
        transaction is held (not sent again), its batch back to pending with `error` saying why."""
        with self._store.session() as session:
            _move_transaction(session, row.tx_hash, TransactionState.HELD)
            if row.root is not None:
                _move_batch(session, row.root, BatchState.PENDING, block_number=None, anchored_at=None, error=error)

    def mark_failed(self, row: TransactionRow, error: str) -> None:
        """The transaction can never anchor its batch (mined but reverted, or refused for good).

        The batch fails with it only if no other signature of it may still land or has landed.
        """
        with self._store.session() as session:
            _move_transaction(session, row.tx_hash, TransactionState.FAILED)
            if row.root is None:
                return
            others = session.scalar(
                select(func.count())
                .select_from(TransactionRow)
                .where(
                    TransactionRow.root == row.root,
                    TransactionRow.tx_hash != row.tx_hash,
                    TransactionRow.state.in_((*LIVE, TransactionState.FINAL)),
                )
            )
            if not others:
                # Pending, or mined by this very transaction before a reorg put it back reverted.
                session.execute(
                    update(BatchRow)
                    .where(BatchRow.root == row.root, BatchRow.state.in_((BatchState.PENDING, BatchState.MINED)))
                    .values(state=BatchState.FAILED, error=error, block_number=None, anchored_at=None)
                )


def _move_transaction(session: Session, tx_hash: str, state: TransactionState, **values: Any) -> bool:
    """Move one transaction to `state` (with `values`), if its lifecycle allows: True when this call moved
    it there from another state. Raises `TransitionError`."""
    return _move(session, TransactionRow.tx_hash, tx_hash, state, f"transaction {tx_hash}", values)


def _move_batch(session: Session, root: str, state: BatchState, **values: Any) -> None:
    """Move one batch to `state` (with `values`), if its lifecycle allows. Raises `TransitionError`."""
    _move(session, BatchRow.root, root, state, f"batch {root}", values)


def _move(
    session: Session,
    key: InstrumentedAttribute[str],
    value: str,
    state: BatchState | TransactionState,
    what: str,
    values: dict[str, Any],
) -> bool:
    """Move the row of `key == value` to `state`, checked against its lifecycle's table: True when this
    call moved it from another state (so that what follows a move, a metric, happens once).

    One conditional UPDATE (from a state that may move to `state`), so two writers cannot both
    pass the check, nor both see themselves move it. A row in `state` already gets `values`. A row
    another writer has already moved past `state` (an observer with an older view marking FINAL's
    transaction MINED again) is left as it is; any other refused move raises `TransitionError`.
    """
    table = key.class_
    sources = [old for old, moves in TRANSITIONS[type(state)].items() if state in moves and old != state]
    moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(table).where(key == value, table.state.in_(sources)).values(state=state, **values)
    )
    if moved.rowcount:
        return True
    again: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(table).where(key == value, table.state == state).values(state=state, **values)
    )
    if again.rowcount:
        return False
    current = session.scalar(select(table.state).where(key == value))
    if current is None:
        raise ConflictError(f"{what} is not in the store")
    if allowed(state, type(state)(current)):
        return False  # moved on already, past `state`
    require_transition(type(state)(current), state, what)
    return False


def _supersede(session: Session, which: ColumnElement[bool]) -> None:
    """Supersede the transactions `which` selects, each as its lifecycle allows. Raises `TransitionError`."""
    for tx_hash, current in session.execute(select(TransactionRow.tx_hash, TransactionRow.state).where(which)):
        require_transition(TransactionState(current), TransactionState.SUPERSEDED, f"transaction {tx_hash}")
    session.execute(update(TransactionRow).where(which).values(state=TransactionState.SUPERSEDED))


def _add_batch(
    session: Session,
    batch: NewBatch,
    *,
    state: BatchState,
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
            status=ChainStatus.ACTIVE,
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
                    "status": ChainStatus.ACTIVE,
                    "reason": 0,
                    "created_at": created,
                }
                for document in batch.documents
            ],
        )
    if queued:
        session.execute(delete(QueuedDocumentRow).where(QueuedDocumentRow.position.in_(queued)))


def _allocate_nonce(session: Session, key_address: str, chain_nonce: int, *, create: bool = False) -> int:
    """The key's next nonce: the stored next one, or the node's count if that is higher.

    One UPDATE ... RETURNING reads and moves the counter, so its write lock serialises every
    allocator, on SQLite as on PostgreSQL (a SELECT first would let two processes read the same
    value). Every issuer key gets its row when it is added (`Store.add_key`); other senders
    (`create`) get theirs on their first transaction, by an insert that a concurrent one cannot fail.
    """
    if create:
        dialect = session.get_bind().dialect.name
        new_row = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(KeyNonceRow).values(
            key_address=key_address, next_nonce=chain_nonce
        )
        session.execute(new_row.on_conflict_do_nothing(index_elements=[KeyNonceRow.key_address]))
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
        state=TransactionState.SIGNED,
        created_at=now,
    )
