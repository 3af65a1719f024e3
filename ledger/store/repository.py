"""`Store`: every read and write of the off-chain store."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ledger.domain import BatchState, ChainStatus, TxReceipt
from ledger.errors import ConflictError, DocumentNotFoundError, ServiceUnavailableError
from ledger.store.models import (
    AccessRow,
    AgencyAdminRow,
    AgencyRow,
    ApiKeyRow,
    BatchRow,
    CredentialRow,
    DocumentRow,
    IssuerKeyRow,
    KeyNonceRow,
    ShareRow,
    StatusChangeRow,
)

log = logging.getLogger(__name__)


class _ErasedMeanwhileError(Exception):
    """A share whose document was erased: raised inside its database transaction to roll it back."""


SealedTable = type[IssuerKeyRow] | type[AgencyAdminRow]
"""A table of keys kept sealed: issuer keys, or agency admin keys."""

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class NewDocument:
    """A wrapped document about to be recorded with its batch."""

    target_hash: str
    document_type: str
    proof: list[str]
    wrapped: dict[str, Any]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """The store behind one database URL."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True) -> Store:
        """Connect to `url` (creating a SQLite file's folder) and migrate it."""
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine=engine)
        if run_migrations:
            with store._translate():
                migrate(engine)
        return store

    def close(self) -> None:
        """Release every connection."""
        self._engine.dispose()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as error:
            raise ServiceUnavailableError("the database cannot be reached; check SIJILL_DATABASE_URL") from error

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back on error."""
        with self._translate(), self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise `ServiceUnavailableError` unless the database answers."""
        with self.session() as session:
            session.execute(select(1))

    # --- agencies ---------------------------------------------------------------

    def add_agency(
        self, agency_id: str, name: str, name_ar: str | None, tx_hash: str | None, domain: str | None = None
    ) -> AgencyRow:
        """Record an agency. Raises `ConflictError` if it exists."""
        row = AgencyRow(id=agency_id, name=name, name_ar=name_ar, tx_hash=tx_hash, domain=domain)
        try:
            with self.session() as session:
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"agency '{agency_id}' exists already") from error
        return row

    def get_agency(self, agency_id: str) -> AgencyRow | None:
        """The agency `agency_id`, or None."""
        with self.session() as session:
            return session.get(AgencyRow, agency_id)

    def list_agencies(self) -> list[AgencyRow]:
        """Every agency, by id."""
        with self.session() as session:
            return list(session.scalars(select(AgencyRow).order_by(AgencyRow.id)))

    # --- API keys and the access log ---------------------------------------------

    def add_api_key(self, row: ApiKeyRow) -> ApiKeyRow:
        """Store an API key (its hash only). Raises `ConflictError` for a key id in use."""
        try:
            with self.session() as session:
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"API key '{row.id}' exists already") from error
        return row

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:
        """The API key `key_id` (revoked or not), or None."""
        with self.session() as session:
            return session.get(ApiKeyRow, key_id)

    def list_api_keys(self, agency_id: str | None = None) -> list[ApiKeyRow]:
        """Every API key, or an agency's, oldest first."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if agency_id is not None:
            query = query.where(ApiKeyRow.agency_id == agency_id)
        with self.session() as session:
            return list(session.scalars(query))

    def revoke_api_key(self, key_id: str, at: datetime) -> ApiKeyRow | None:
        """Mark an API key revoked (once); None when there is no such key."""
        with self.session() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = at
            return row

    def record_access(self, entries: Sequence[AccessRow]) -> None:
        """Append to the access log."""
        with self.session() as session:
            session.add_all(entries)

    def access_log(self, *, agency_id: str | None = None, after: int = 0, limit: int = 100) -> list[AccessRow]:
        """Access log entries after id `after`, oldest first; an agency's own entries when `agency_id` is set."""
        query = select(AccessRow).where(AccessRow.id > after).order_by(AccessRow.id).limit(limit)
        if agency_id is not None:
            query = query.where(AccessRow.agency_id == agency_id)
        with self.session() as session:
            return list(session.scalars(query))

    # --- keys -------------------------------------------------------------------

    def add_key(
        self,
        *,
        address: str,
        agency_id: str,
        encrypted_key: str,
        valid_from: int,
        valid_until: int,
        tx_hash: str | None,
    ) -> IssuerKeyRow:
        """Record an issuer key."""
        row = IssuerKeyRow(
            address=address,
            agency_id=agency_id,
            encrypted_key=encrypted_key,
            valid_from=valid_from,
            valid_until=valid_until,
            tx_hash=tx_hash,
        )
        with self.session() as session:
            session.add(row)
            session.flush()
            session.add(KeyNonceRow(key_address=address, next_nonce=0))  # the pipeline allocates from here
        return row

    def authorize_key(self, address: str, valid_from: int, valid_until: int, tx_hash: str) -> IssuerKeyRow:
        """Record the window the chain authorized a stored key for."""
        with self.session() as session:
            row = session.get(IssuerKeyRow, address)
            assert row is not None, "authorize_key follows add_key"
            row.valid_from, row.valid_until, row.tx_hash = valid_from, valid_until, tx_hash
            return row

    def sealed_keys(self, table: SealedTable = IssuerKeyRow) -> list[tuple[str, str]]:
        """Every key kept in `table` (issuer keys, or agency admin keys) as (address, sealed private key)."""
        with self.session() as session:
            rows = session.execute(select(table.address, table.encrypted_key))
            return [(str(address), str(sealed)) for address, sealed in rows]

    def reseal_key(self, address: str, old: str, new: str, table: SealedTable = IssuerKeyRow) -> bool:
        """Replace the sealed form `old` of a key by `new`; False when it changed meanwhile (nothing written)."""
        with self.session() as session:
            moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(table).where(table.address == address, table.encrypted_key == old).values(encrypted_key=new)
            )
            return bool(moved.rowcount)

    def get_key(self, address: str) -> IssuerKeyRow | None:
        """The issuer key at `address`, or None."""
        with self.session() as session:
            return session.get(IssuerKeyRow, address)

    def keys_of(self, agency_id: str) -> list[IssuerKeyRow]:
        """Every key of an agency, newest first."""
        with self.session() as session:
            query = select(IssuerKeyRow).where(IssuerKeyRow.agency_id == agency_id)
            return list(session.scalars(query.order_by(IssuerKeyRow.created_at.desc())))

    def active_key(self, agency_id: str, now: int, margin: int = 0) -> IssuerKeyRow | None:
        """The newest key of an agency that is valid from `now` to `margin` seconds after it, or None.

        The margin covers a chain whose clock lags: the block a transaction lands in may carry a
        later time than the one it was judged by (Besu reads `pending` as `latest`).
        """
        for row in self.keys_of(agency_id):
            if row.valid_from <= now and now + margin < row.valid_until:
                return row
        return None

    def set_key_valid_until(self, address: str, valid_until: int) -> None:
        """Record a key's new end of validity."""
        with self.session() as session:
            session.execute(update(IssuerKeyRow).where(IssuerKeyRow.address == address).values(valid_until=valid_until))

    # --- batches and documents --------------------------------------------------

    def mark_anchored(self, root: str, receipt: TxReceipt) -> None:
        """Record that a batch's anchor was mined."""
        with self.session() as session:
            session.execute(
                update(BatchRow)
                .where(BatchRow.root == root)
                .values(
                    state=BatchState.ANCHORED,
                    tx_hash=receipt.tx_hash,
                    block_number=receipt.block_number,
                    anchored_at=receipt.block_timestamp,
                    error=None,
                )
            )

    def batch_summaries(self, size: int = 5000) -> Iterator[list[tuple[str, str, str, int, str, str | None]]]:
        """Every batch as (root, agency, state, document count, status, tx), `size` at a time."""
        columns = (
            BatchRow.root,
            BatchRow.agency_id,
            BatchRow.state,
            BatchRow.document_count,
            BatchRow.status,
            BatchRow.tx_hash,
        )
        yield from self._pages(columns, size)

    def document_summaries(self, size: int = 5000) -> Iterator[list[tuple[str, str, str, str]]]:
        """Every document as (target hash, batch root, type, status), `size` at a time (no content)."""
        columns = (DocumentRow.target_hash, DocumentRow.batch_root, DocumentRow.document_type, DocumentRow.status)
        yield from self._pages(columns, size)

    def _pages(self, columns: tuple[Any, ...], size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of `columns`, ordered by the first (a primary key), `size` at a time, without holding them all."""
        key, last = columns[0], ""
        while True:
            with self.session() as session:
                query = select(*columns).where(key > last).order_by(key).limit(size)
                rows = [tuple(row) for row in session.execute(query)]
            if not rows:
                return
            yield rows
            last = str(rows[-1][0])

    def known_roots(self, roots: Sequence[str]) -> set[str]:
        """Which of `roots` the store holds as batches."""
        with self.session() as session:
            return set(session.scalars(select(BatchRow.root).where(BatchRow.root.in_(roots))))

    def get_batch(self, root: str) -> BatchRow | None:
        """The batch with Merkle root `root`, or None."""
        with self.session() as session:
            return session.get(BatchRow, root)

    def get_document(self, target_hash: str) -> DocumentRow | None:
        """The document with `target_hash`, or None."""
        with self.session() as session:
            return session.get(DocumentRow, target_hash)

    def find(self, hash_hex: str) -> tuple[BatchRow, DocumentRow | None]:
        """The batch and document a hash names: a document's target hash or a batch root.

        Raises `DocumentNotFoundError` for a hash the store never recorded.
        """
        with self.session() as session:
            document = session.get(DocumentRow, hash_hex)
            if document is not None:
                batch = session.get(BatchRow, document.batch_root)
                assert batch is not None  # a document row always has its batch (foreign key)
                return batch, document
            batch = session.get(BatchRow, hash_hex)
            if batch is not None:
                return batch, None
        raise DocumentNotFoundError(f"no document or batch with hash {hash_hex} was issued by this service")

    def record_status_change(
        self,
        *,
        hash_hex: str,
        scope: str,
        action: str,
        status: ChainStatus,
        reason: int,
        actor: str,
        receipt: TxReceipt,
    ) -> None:
        """Record a mined revocation, suspension or reinstatement.

        The chain has accepted it already, and the chain enforces the statuses' lifecycle, so this
        records what happened rather than judging it (the store may not have seen an earlier change).
        """
        with self.session() as session:
            if scope == "batch":
                session.execute(update(BatchRow).where(BatchRow.root == hash_hex).values(status=status, reason=reason))
            # A document anchored alone has its root as target hash: both rows change.
            session.execute(
                update(DocumentRow).where(DocumentRow.target_hash == hash_hex).values(status=status, reason=reason)
            )
            session.add(
                StatusChangeRow(
                    hash=hash_hex,
                    scope=scope,
                    action=action,
                    reason=reason,
                    actor=actor,
                    tx_hash=receipt.tx_hash,
                    block_number=receipt.block_number,
                )
            )

    def put_share(self, reference: str, blob: bytes, *, target_hash: str) -> bool:
        """Keep the sealed copy of document `target_hash` under its reference (once: the same document
        seals the same way), if the document still holds its content; False (nothing kept) once it
        was erased.

        The copy is written first and the document's row then read under a lock, in one
        transaction, so an erasure running at the same time either sees the copy and deletes it,
        or has erased the document first and this keeps nothing: no copy outlives an erasure.
        """
        try:
            with self.session() as session:
                if session.get(ShareRow, reference) is None:
                    session.add(ShareRow(reference=reference, blob=blob))
                    session.flush()
                content = session.scalar(
                    select(DocumentRow.wrapped).where(DocumentRow.target_hash == target_hash).with_for_update()
                )
                if not content:
                    raise _ErasedMeanwhileError  # rolls the copy back
        except _ErasedMeanwhileError:
            return False
        except IntegrityError:
            pass  # a concurrent request stored the same sealed copy first
        return True

    def erase_document(self, target_hash: str, share_reference: str) -> bool:
        """Forget a document's content and salts, and its shared copy, in one transaction.

        The target hash, proof and status stay: they are hashes, and the agency still needs
        them to revoke. Returns False when the content was erased already.
        """
        with self.session() as session:
            row = session.get(DocumentRow, target_hash)
            if row is None or not row.wrapped:
                return False
            row.wrapped = {}
            credential = session.get(CredentialRow, target_hash)
            if credential is not None:  # its claims go too; its status index stays taken
                credential.credential = None
            share = session.get(ShareRow, share_reference)
            if share is not None:
                session.delete(share)
        if self._engine.dialect.name == "sqlite":  # the old pages also leave the write-ahead log
            for _attempt in range(20):
                with self._engine.connect() as connection:
                    busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
                if not busy:
                    break
                time.sleep(0.05)  # a reader holds the log; it lets go within moments
            else:
                log.warning(
                    "the write-ahead log still holds the erased pages of %s until its next checkpoint", target_hash
                )
        return True

    def get_share(self, reference: str) -> bytes | None:
        """The sealed blob behind a reference, or None."""
        with self.session() as session:
            row = session.get(ShareRow, reference)
            return row.blob if row else None

    def status_changes(self, hash_hex: str) -> list[StatusChangeRow]:
        """The history of changes of a hash, oldest first."""
        with self.session() as session:
            query = select(StatusChangeRow).where(StatusChangeRow.hash == hash_hex).order_by(StatusChangeRow.id)
            return list(session.scalars(query))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA secure_delete=ON")  # erased content is overwritten, not left in free pages
    cursor.close()
