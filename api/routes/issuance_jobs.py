"""Issuing from a spreadsheet: upload it (multipart), follow the job, fetch its results and certificates."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import ActorDep, IssuerDep, LedgerDep
from ledger.errors import InvalidRequestError
from ledger.sheets.mapping import ColumnMap
from ledger.usecases.actors import Scope
from ledger.usecases.context import Ledger
from ledger.usecases.issuance_jobs import (
    dry_run,
    job_progress,
    jobs_dir,
    own_job,
    resolve_mapping,
    results_rows,
    start_job,
    write_pdfs,
)
from ledger.usecases.sheet_check import REPORT_HEADER, Problem

router = APIRouter(prefix="/v1/issuance-jobs", tags=["issuance jobs"])
_SUFFIXES = (".csv", ".xlsx", ".xlsm")


def _links(request: Request, job_id: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {
        "status_url": f"{base}/v1/issuance-jobs/{job_id}",
        "results_url": f"{base}/v1/issuance-jobs/{job_id}/results.csv",
        "certificates_url": f"{base}/v1/issuance-jobs/{job_id}/certificates.zip",
    }


async def _upload(request: Request, ledger: Ledger) -> tuple[Path, str, dict[str, str]]:
    """The uploaded sheet, copied to a file of its own under the data folder, its name, and the form's text
    fields. Raises `InvalidRequestError` (no file, not a spreadsheet's name) and `PayloadTooLargeError`."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidRequestError(
            "send the spreadsheet as multipart/form-data: a 'file' part, and 'map' (YAML) or 'type'", field="file"
        )
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidRequestError("the form has no 'file': attach the spreadsheet (.csv or .xlsx)", field="file")
        name = Path(upload.filename).name
        suffix = Path(name).suffix.lower()
        if suffix not in _SUFFIXES:
            raise InvalidRequestError(f"'{name}' is not a .csv or .xlsx spreadsheet", field="file")
        incoming = jobs_dir(ledger) / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        kept = incoming / f"{uuid.uuid4().hex}{suffix}"
        with kept.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out, 1 << 20)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return kept, name, fields


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Issue every valid row of a spreadsheet (or, with dry_run, only check them)",
    responses={200: {"description": "dry_run: every problem of every row, nothing issued"}},
)
async def create_job(request: Request, ledger: LedgerDep, actor: IssuerDep) -> Any:
    """Multipart form: `file` (CSV in UTF-8, UTF-8 with a BOM or Windows-1256; or XLSX), `map` (the column
    mapping, YAML) or `type` (a mapping proposed from the headers), `dry_run` (true: a report, nothing
    issued). The job reads the sheet in the service's worker; the same file and mapping again resume it."""
    agency_id = actor.require_agency(Scope.ISSUE)
    kept, name, fields = await _upload(request, ledger)
    try:
        mapping: ColumnMap = await run_in_threadpool(
            resolve_mapping, ledger, kept, map_text=fields.get("map"), document_type=fields.get("type")
        )
        if fields.get("dry_run", "").lower() in ("true", "1", "yes"):
            tally, problems = await run_in_threadpool(dry_run, ledger, kept, mapping)
            return _report(name, mapping, tally.rows, tally.valid, problems)
        job, new = await run_in_threadpool(start_job, ledger, agency_id, source=kept, source_name=name, mapping=mapping)
    finally:
        kept.unlink(missing_ok=True)  # a job keeps its own copy
    progress = await run_in_threadpool(job_progress, ledger, job.id)
    return {**progress.as_dict(), "resumed": not new, **_links(request, job.id)}


def _report(name: str, mapping: ColumnMap, rows: int, valid: int, problems: list[Problem]) -> JSONResponse:
    body = {
        "file": name,
        "document_type": mapping.document_type,
        "mapping": mapping.columns,
        "rows": rows,
        "ready": valid,
        "problems": [dict(zip(REPORT_HEADER, problem.as_row(), strict=True)) for problem in problems],
    }
    return JSONResponse(body, status_code=status.HTTP_200_OK)


@router.get("/{job_id}", summary="A job's progress")
def get_job(job_id: str, ledger: LedgerDep, actor: ActorDep, request: Request) -> dict[str, Any]:
    """Rows read, invalid, queued and anchored, and the job's state: READING, ACCEPTED, ANCHORED or FAILED."""
    actor.require(Scope.ISSUE)
    own_job(ledger, actor, job_id)
    return {**job_progress(ledger, job_id).as_dict(), **_links(request, job_id)}


@router.get("/{job_id}/results.csv", summary="Each row's status, target hash and verification link")
def get_results(job_id: str, ledger: LedgerDep, actor: ActorDep) -> StreamingResponse:
    """The results file, streamed: row, status (anchored, pending, invalid), target hash, verification link
    (once anchored), and an invalid row's problems."""
    actor.require(Scope.ISSUE)
    own_job(ledger, actor, job_id)

    def lines() -> Iterator[str]:
        for row in results_rows(ledger, job_id):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(row)
            yield buffer.getvalue()

    headers = {"Content-Disposition": f'attachment; filename="{job_id}-results.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{job_id}/certificates.zip", summary="The certificates of every anchored row, zipped")
def get_certificates(job_id: str, ledger: LedgerDep, actor: ActorDep) -> FileResponse:
    """A zip of each anchored row's PDF (409 while documents still wait for their anchors)."""
    actor.require(Scope.ISSUE)
    own_job(ledger, actor, job_id)
    handle = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)  # noqa: SIM115 (removed after sending)
    path = Path(handle.name)
    try:
        with handle:
            write_pdfs(ledger, job_id, handle)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{job_id}-certificates.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
