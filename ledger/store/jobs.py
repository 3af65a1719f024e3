"""Spreadsheet issuance jobs, in the store's database: the job, and each row it read.

A chunk of rows is recorded in one transaction with the documents it queues, after a compare-and-set on
the job's last recorded row: a job stopped at any moment (a crash, SIGKILL) resumes after its last chunk,
and two runners of one job never both record a chunk. A row is therefore queued once, whatever happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import CursorResult

from ledger.domain import BatchState, JobState, require_transition
from ledger.errors import ConflictError
from ledger.store.models import (
    BatchRow,
    DocumentRow,
    IssuanceJobEntryRow,
    IssuanceJobRow,
    QueuedDocumentRow,
)
from ledger.store.queue import QueuedDocument, queue_rows
from ledger.store.repository import Store


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows read since the job's last chunk: the documents of the valid ones, the problems of the others."""

    first_row: int  # the job's last recorded row must be before it
    last_row: int
    rows: int
    documents: Sequence[tuple[int, QueuedDocument]]  # (row number, document)
    invalid: Sequence[tuple[int, list[list[str]]]]  # (row number, [column, field, message] each)


class JobEntry(NamedTuple):
    """A row of a job as the results file reports it."""

    row_number: int
    target_hash: str | None
    problems: list[list[str]] | None
    batch_state: str | None  # None: still queued (or never: an invalid row)


class Jobs:
    """The `issuance_jobs` and `issuance_job_rows` tables."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, row: IssuanceJobRow) -> IssuanceJobRow:
        """Keep a new job."""
        with self._store.session() as session:
            session.add(row)
            session.flush()
            session.refresh(row)
        return row

    def get(self, job_id: str) -> IssuanceJobRow | None:
        """The job `job_id`, or None."""
        with self._store.session() as session:
            return session.get(IssuanceJobRow, job_id)

    def unfinished(self, agency_id: str, sha256: str, mapping: dict[str, Any]) -> IssuanceJobRow | None:
        """The agency's job of this very file and mapping that has not read every row, if any."""
        query = select(IssuanceJobRow).where(
            IssuanceJobRow.agency_id == agency_id,
            IssuanceJobRow.source_sha256 == sha256,
            IssuanceJobRow.state.in_([JobState.READING.value, JobState.FAILED.value]),
        )
        with self._store.session() as session:
            return next((row for row in session.scalars(query) if row.mapping == mapping), None)

    def reading(self) -> list[IssuanceJobRow]:
        """The jobs still reading their sheet, oldest first."""
        query = select(IssuanceJobRow).where(IssuanceJobRow.state == JobState.READING.value)
        with self._store.session() as session:
            return list(session.scalars(query.order_by(IssuanceJobRow.created_at)))

    def accepted(self) -> list[IssuanceJobRow]:
        """The jobs whose rows are all read and wait for their anchors."""
        query = select(IssuanceJobRow).where(IssuanceJobRow.state == JobState.ACCEPTED.value)
        with self._store.session() as session:
            return list(session.scalars(query))

    def record(self, job_id: str, agency_id: str, chunk: Chunk, *, accepted_at: float, now: datetime) -> None:
        """Queue a chunk's documents and record its rows, in one transaction. Raises `ConflictError` when the
        job's last recorded row is not the one before the chunk (another runner recorded it)."""
        with self._store.session() as session:
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(IssuanceJobRow)
                .where(
                    IssuanceJobRow.id == job_id,
                    IssuanceJobRow.state == JobState.READING.value,
                    IssuanceJobRow.last_row < chunk.first_row,
                )
                .values(
                    last_row=chunk.last_row,
                    rows_read=IssuanceJobRow.rows_read + chunk.rows,
                    rows_invalid=IssuanceJobRow.rows_invalid + len(chunk.invalid),
                    rows_accepted=IssuanceJobRow.rows_accepted + len(chunk.documents),
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                raise ConflictError(f"job {job_id} recorded these rows already, or is not reading")
            if chunk.documents:
                queued = [document for _, document in chunk.documents]
                session.execute(insert(QueuedDocumentRow), queue_rows(agency_id, queued, now=accepted_at))
            entries = [
                {"job_id": job_id, "row_number": row, "target_hash": document.target_hash, "problems": None}
                for row, document in chunk.documents
            ] + [
                {"job_id": job_id, "row_number": row, "target_hash": None, "problems": problems}
                for row, problems in chunk.invalid
            ]
            if entries:
                session.execute(insert(IssuanceJobEntryRow), entries)

    def move(self, job_id: str, new: JobState, *, now: datetime, error: str | None = None) -> IssuanceJobRow:
        """Move a job to `new` (as `JobState`'s lifecycle allows). Raises `TransitionError`, `ConflictError`."""
        with self._store.session() as session:
            row = session.get(IssuanceJobRow, job_id, with_for_update=True)
            if row is None:
                raise ConflictError(f"no job {job_id}")
            require_transition(JobState(row.state), new, f"job {job_id}")
            row.state, row.updated_at = new.value, now
            if error is not None or new is not JobState.FAILED:
                row.error = error
            session.flush()
            session.refresh(row)
            return row

    def anchored(self, job_id: str) -> int:
        """How many of the job's documents are anchored."""
        query = (
            select(func.count())
            .select_from(IssuanceJobEntryRow)
            .join(DocumentRow, DocumentRow.target_hash == IssuanceJobEntryRow.target_hash)
            .join(BatchRow, BatchRow.root == DocumentRow.batch_root)
            .where(IssuanceJobEntryRow.job_id == job_id, BatchRow.state == BatchState.ANCHORED.value)
        )
        with self._store.session() as session:
            return int(session.scalar(query) or 0)

    def entries(self, job_id: str, *, after_row: int, limit: int) -> list[JobEntry]:
        """The job's rows after `after_row`, in order, with their batch's state: a page of the results."""
        query = (
            select(
                IssuanceJobEntryRow.row_number,
                IssuanceJobEntryRow.target_hash,
                IssuanceJobEntryRow.problems,
                BatchRow.state,
            )
            .outerjoin(DocumentRow, DocumentRow.target_hash == IssuanceJobEntryRow.target_hash)
            .outerjoin(BatchRow, and_(BatchRow.root == DocumentRow.batch_root))
            .where(IssuanceJobEntryRow.job_id == job_id, IssuanceJobEntryRow.row_number > after_row)
            .order_by(IssuanceJobEntryRow.row_number)
            .limit(limit)
        )
        with self._store.session() as session:
            return [JobEntry(*row) for row in session.execute(query)]

    def rows_of(self, job_id: str) -> int:
        """How many rows the job has recorded."""
        query = select(func.count()).select_from(IssuanceJobEntryRow).where(IssuanceJobEntryRow.job_id == job_id)
        with self._store.session() as session:
            return int(session.scalar(query) or 0)
