"""Issuing from a spreadsheet: a job reads the sheet row by row, queues each valid row's document for the
pipeline (queue, batches, anchors: as `POST /v1/documents?wait=false`), reports the others, and ends with a
results file (each row's target hash, status and verification link) and, when asked, a zip of PDFs.

The sheet is streamed and rows are recorded in chunks, each in the transaction that queues its documents
(`ledger.store.jobs`): memory stays flat whatever the sheet's length, and a job stopped at any moment
resumes after its last chunk with no row issued twice.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ledger.domain import BatchState, JobState
from ledger.errors import ConflictError, InvalidRequestError, NotFoundError, PermissionDeniedError
from ledger.sheets.mapping import ColumnMap, parse_mapping, propose_mapping
from ledger.sheets.reading import SheetError, open_sheet
from ledger.store.jobs import Chunk
from ledger.store.models import IssuanceJobRow
from ledger.store.queue import QueuedDocument
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import require_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issuance_problem, salted_documents, with_expiry
from ledger.usecases.sharing import certificate_pdf, verification_link
from ledger.usecases.sheet_check import Problem, RowReader, Tally, check_sheet, checked_mapping

CHUNK_ROWS = 500
"""Rows recorded (and their documents queued) per transaction."""
QUEUE_WAIT_SECONDS = 0.2
"""How long a job waits for the pipeline when the agency's queue is full."""
RESULTS_HEADER = ["row", "status", "target_hash", "verification_link", "problems"]


@dataclass(frozen=True, slots=True)
class JobProgress:
    """A job as its status route shows it."""

    id: str
    agency_id: str
    document_type: str
    source_name: str
    state: JobState
    rows_read: int
    rows_invalid: int
    rows_accepted: int
    rows_anchored: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        """The progress, JSON-ready."""
        done = self.state is JobState.ANCHORED
        return {
            "id": self.id,
            "agency_id": self.agency_id,
            "document_type": self.document_type,
            "file": self.source_name,
            "state": self.state.value,
            "rows": {
                "read": self.rows_read,
                "invalid": self.rows_invalid,
                "queued": self.rows_accepted,
                "anchored": self.rows_anchored,
            },
            "finished": done,
            "error": self.error,
        }


def resolve_mapping(ledger: Ledger, source: Path, *, map_text: str | None, document_type: str | None) -> ColumnMap:
    """The mapping to issue `source` with: `map_text` (YAML), which must name `document_type` when both are
    given; or, without one, the mapping proposed from the sheet's headers for `document_type`.
    Raises `InvalidRequestError`, `SheetError` and `UnknownDocumentTypeError`."""
    if map_text is not None:
        mapping = parse_mapping(map_text)
        if document_type is not None and mapping.document_type != document_type:
            raise InvalidRequestError(
                f"the mapping is for '{mapping.document_type}', not '{document_type}'", field="type"
            )
        return mapping
    if document_type is None:
        raise InvalidRequestError("name the document type, or give a mapping that names it", field="type")
    sheet = open_sheet(source)
    proposed = propose_mapping(sheet.headers, ledger.catalog.get(document_type), ledger.catalog.shared)
    if not proposed.columns:
        raise InvalidRequestError(
            f"no column of {source.name} names a field of '{document_type}': write a mapping "
            "(`sijill sheet map` proposes one to edit)",
            field="map",
        )
    return proposed


def dry_run(ledger: Ledger, source: Path, mapping: ColumnMap) -> tuple[Tally, list[Problem]]:
    """Every problem of every row, nothing issued: the sheet streamed, only the problems kept.
    Raises `SheetError`, `InvalidRequestError` and `UnknownDocumentTypeError`."""
    tally = Tally()
    problems = list(check_sheet(ledger.catalog, open_sheet(source), mapping, tally))
    return tally, problems


def jobs_dir(ledger: Ledger) -> Path:
    """Where jobs keep their files until they end."""
    return ledger.settings.data_dir / "jobs"


def start_job(
    ledger: Ledger, agency_id: str, *, source: Path, source_name: str, mapping: ColumnMap
) -> tuple[IssuanceJobRow, bool]:
    """A job issuing the sheet at `source` for `agency_id` under `mapping`, and whether it is new: the same
    file and mapping as an unfinished job of the agency is that job, resumed.

    The sheet is opened and its mapping checked first: a file that is not a spreadsheet, a type the agency
    may not issue, a mapping naming columns the sheet lacks or leaving a required field unfilled, are
    refused before anything is kept. Raises `SheetError`, `InvalidRequestError`, `UnknownDocumentTypeError`,
    `PermissionDeniedError` and `AgencyNotFoundError`.
    """
    require_agency(ledger, agency_id)
    kind = ledger.catalog.get(mapping.document_type)
    if kind.definition.owner is not None and kind.definition.owner != agency_id:
        raise PermissionDeniedError(
            f"document type '{kind.name}' belongs to agency '{kind.definition.owner}'; only it issues documents of "
            "that type"
        )
    sheet = open_sheet(source)
    problems = checked_mapping(ledger.catalog, sheet, mapping)
    if problems:
        said = "; ".join(f"{p.column or p.field}: {p.message}" for p in problems[:5])
        raise InvalidRequestError(f"the mapping does not fit the sheet: {said}", field="map")
    digest = _sha256(source)
    mapped = {"type": mapping.document_type, "columns": mapping.columns}
    existing = ledger.jobs.unfinished(agency_id, digest, mapped)
    if existing is not None:
        return existing, False
    job_id = uuid.uuid4().hex
    folder = jobs_dir(ledger) / job_id
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / f"sheet{source.suffix.lower()}"
    shutil.copyfile(source, kept)
    row = IssuanceJobRow(
        id=job_id,
        agency_id=agency_id,
        document_type=mapping.document_type,
        mapping=mapped,
        source_name=source_name[:255],
        source_sha256=digest,
        source_path=str(kept),
        state=JobState.READING.value,
        last_row=0,
        rows_read=0,
        rows_invalid=0,
        rows_accepted=0,
        created_at=ledger.clock(),
        updated_at=ledger.clock(),
    )
    return ledger.jobs.add(row), True


def run_job(
    ledger: Ledger,
    job_id: str,
    *,
    progress: Callable[[JobProgress], None] | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> JobProgress:
    """Read the job's sheet from its last recorded row to its end, queueing each valid row's document.

    Steps: 1. skip the rows recorded already; 2. read each row into the type's fields and check it; 3. every
    `CHUNK_ROWS` rows, queue the valid ones' documents and record every row in one transaction (waiting
    while the agency's queue is full); 4. mark the job ACCEPTED, its rows all read. `keep_going` is asked
    before each chunk (a worker's lease); `progress` hears of each chunk.

    Raises `NotFoundError`; a sheet that cannot be read to its end marks the job FAILED with why (and raises
    `SheetError`). Another runner recording the same rows first ends this run quietly.
    """
    job = _job(ledger, job_id)
    if job.state == JobState.FAILED.value:
        job = ledger.jobs.move(job_id, JobState.READING, now=ledger.clock())
    if job.state != JobState.READING.value:
        return job_progress(ledger, job_id)
    agency = require_agency(ledger, job.agency_id)
    mapping = parse_mapping(job.mapping)
    try:
        sheet = open_sheet(Path(job.source_path))
        reader = RowReader(ledger.catalog, sheet, mapping)
        pending: list[tuple[int, dict[str, Any], list[Problem]]] = []
        first, last = job.last_row + 1, job.last_row
        for row in sheet.rows:  # 1. the rows a chunk recorded already are read past
            if row.number <= job.last_row:
                continue
            fields, problems = reader.read(row)  # 2.
            pending.append((row.number, fields, problems))
            last = row.number
            if len(pending) >= CHUNK_ROWS:
                if not keep_going():
                    return job_progress(ledger, job_id)
                _record(ledger, job, agency, mapping, pending, first, last)  # 3.
                pending, first = [], last + 1
                if progress is not None:
                    progress(job_progress(ledger, job_id))
        if pending:
            _record(ledger, job, agency, mapping, pending, first, last)
    except SheetError as error:
        ledger.jobs.move(job_id, JobState.FAILED, now=ledger.clock(), error=error.message)
        raise
    except ConflictError:  # another runner recorded these rows (or finished the job): it goes on, not this one
        return job_progress(ledger, job_id)
    ledger.jobs.move(job_id, JobState.ACCEPTED, now=ledger.clock())  # 4.
    result = job_progress(ledger, job_id)
    if progress is not None:
        progress(result)
    return result


def job_lease(job_id: str) -> str:
    """The lease that lets one runner at a time read a job's sheet."""
    return f"job:{job_id}"


def run_job_when_free(
    ledger: Ledger, job_id: str, owner: str, *, progress: Callable[[JobProgress], None] | None = None
) -> JobProgress:
    """`run_job` once `owner` holds the job's lease, renewing it chunk by chunk: a runner that died (a killed
    command) holds it until it runs out, and a service's job worker may be reading the sheet meanwhile."""
    name, seconds = job_lease(job_id), ledger.settings.lease_seconds

    def held() -> bool:
        return ledger.leases.acquire(name, owner, seconds=seconds, now=time.time())

    while not held():
        if job_progress(ledger, job_id).state is not JobState.READING:
            return job_progress(ledger, job_id)  # another runner read it to its end
        time.sleep(QUEUE_WAIT_SECONDS)
    try:
        return run_job(ledger, job_id, progress=progress, keep_going=held)
    finally:
        ledger.leases.release(name, owner)


def _record(
    ledger: Ledger,
    job: IssuanceJobRow,
    agency: Any,
    mapping: ColumnMap,
    pending: list[tuple[int, dict[str, Any], list[Problem]]],
    first: int,
    last: int,
) -> None:
    """Queue the valid rows of a chunk and record all of them in one transaction."""
    now = ledger.now()
    valid: list[tuple[int, IssueRequest]] = []
    invalid: list[tuple[int, list[list[str]]]] = []
    for number, fields, problems in pending:
        request = IssueRequest(document_type=mapping.document_type, fields=fields)
        found = [[p.column, p.field, p.message] for p in problems]
        if not found:
            why = issuance_problem(ledger, job.agency_id, request, now)
            if why is not None:
                found = [["", "", why]]
        if found:
            invalid.append((number, found))
        else:
            valid.append((number, with_expiry(request)))
    documents: list[QueuedDocument] = salted_documents(ledger, agency, [request for _, request in valid])
    _wait_for_room(ledger, job.agency_id, len(documents))
    chunk = Chunk(
        first_row=first,
        last_row=last,
        rows=len(pending),
        documents=[(number, document) for (number, _), document in zip(valid, documents, strict=True)],
        invalid=invalid,
    )
    ledger.jobs.record(job.id, job.agency_id, chunk, accepted_at=time.time(), now=ledger.clock())


def _wait_for_room(ledger: Ledger, agency_id: str, count: int) -> None:
    """Wait while the agency's queue has no room for `count` more documents (the pipeline drains it)."""
    limit = ledger.settings.queue_limit
    while count and ledger.queue.depth(agency_id) + count > limit:
        time.sleep(QUEUE_WAIT_SECONDS)


def job_progress(ledger: Ledger, job_id: str) -> JobProgress:
    """The job's counts and state; a job whose documents are all anchored becomes ANCHORED here.
    Raises `NotFoundError`."""
    job = _job(ledger, job_id)
    anchored = ledger.jobs.anchored(job_id)
    if job.state == JobState.ACCEPTED.value and anchored >= job.rows_accepted:
        job = ledger.jobs.move(job_id, JobState.ANCHORED, now=ledger.clock())
    return JobProgress(
        id=job.id,
        agency_id=job.agency_id,
        document_type=job.document_type,
        source_name=job.source_name,
        state=JobState(job.state),
        rows_read=job.rows_read,
        rows_invalid=job.rows_invalid,
        rows_accepted=job.rows_accepted,
        rows_anchored=anchored,
        error=job.error,
    )


def own_job(ledger: Ledger, actor: Actor, job_id: str) -> IssuanceJobRow:
    """The job, if `actor` is its agency or the admin. Raises `NotFoundError` (another agency's job too)."""
    job = _job(ledger, job_id)
    if not actor.is_admin and actor.agency_id != job.agency_id:
        raise NotFoundError(f"no issuance job {job_id}")
    return job


def results_rows(ledger: Ledger, job_id: str, *, links: bool = True) -> Iterator[list[str]]:
    """The results file, a row at a time: each sheet row's status (anchored, pending, invalid), target hash,
    verification link (once anchored) and problems, paged from the store (memory stays flat)."""
    job = _job(ledger, job_id)
    owner = Actor(agency_id=job.agency_id)
    yield RESULTS_HEADER
    after = 0
    while True:
        page = ledger.jobs.entries(job_id, after_row=after, limit=1000)
        if not page:
            return
        for entry in page:
            if entry.target_hash is None:
                problems = "; ".join(f"{column or field}: {message}" for column, field, message in entry.problems or [])
                yield [str(entry.row_number), "invalid", "", "", problems]
                continue
            anchored = entry.batch_state == BatchState.ANCHORED
            link = verification_link(ledger, owner, entry.target_hash) if anchored and links else ""
            status = "anchored" if anchored else "failed" if entry.batch_state == BatchState.FAILED else "pending"
            yield [str(entry.row_number), status, entry.target_hash, link, ""]
        after = page[-1].row_number


def write_results(ledger: Ledger, job_id: str, out: IO[str]) -> int:
    """Write the results file (CSV) to `out`; returns how many sheet rows it names."""
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for count, row in enumerate(results_rows(ledger, job_id)):  # noqa: B007 (the count is the answer)
        writer.writerow(row)
    return max(count, 0)


def write_pdfs(ledger: Ledger, job_id: str, out: IO[bytes]) -> int:
    """A zip of the anchored rows' certificates, ``row-<n>-<target hash>.pdf`` each, written to `out`;
    returns how many. Raises `ConflictError` while any of the job's documents waits for its anchor."""
    progress = job_progress(ledger, job_id)
    if progress.state is not JobState.ANCHORED:
        raise ConflictError(
            f"job {job_id} is {progress.state.value}: {progress.rows_anchored} of {progress.rows_accepted} documents "
            "anchored; the certificates come once all are"
        )
    owner = Actor(agency_id=progress.agency_id)
    count, after = 0, 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        while page := ledger.jobs.entries(job_id, after_row=after, limit=200):
            for entry in page:
                if entry.target_hash is not None and entry.batch_state == BatchState.ANCHORED:
                    pdf = certificate_pdf(ledger, owner, entry.target_hash)
                    archive.writestr(f"row-{entry.row_number}-{entry.target_hash}.pdf", pdf)
                    count += 1
            after = page[-1].row_number
    return count


def _job(ledger: Ledger, job_id: str) -> IssuanceJobRow:
    job = ledger.jobs.get(job_id) if len(job_id) == 32 and job_id.isalnum() else None
    if job is None:
        raise NotFoundError(f"no issuance job {job_id}")
    return job


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
