"""`sijill sheet`: a registrar's spreadsheet (CSV or XLSX) held to a document type before anything is issued:
a column mapping proposed from its headers, and a dry run reporting every problem by row, column and field;
and `sijill issue --from`, which issues its valid rows."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import err, open_ledger, out, read_file
from ledger.domain import JobState
from ledger.sheets.mapping import parse_mapping, propose_mapping
from ledger.sheets.reading import open_sheet
from ledger.usecases.context import Ledger
from ledger.usecases.issuance_jobs import (
    JobProgress,
    dry_run,
    job_progress,
    resolve_mapping,
    run_job_when_free,
    start_job,
    write_pdfs,
    write_results,
)
from ledger.usecases.sheet_check import REPORT_HEADER, Tally, check_sheet
from ledger.usecases.worker import PipelineWorker

FOLLOW_SECONDS = 0.5

app = typer.Typer(
    help="Spreadsheets: map their columns to a document type, check them (a dry run).", no_args_is_help=True
)

SheetFile = Annotated[
    Path, typer.Argument(help="A .csv (UTF-8 or Windows-1256) or .xlsx file; row 1 names the columns")
]


@app.command("map")
def sheet_map(
    source: SheetFile,
    document_type: Annotated[str, typer.Option("--type", help="The document type the rows are")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to write the mapping (YAML)")] = None,
) -> None:
    """Propose a mapping: each column whose header names a field (in English or Arabic) maps to it."""
    with open_ledger() as ledger:
        sheet = open_sheet(source)
        mapping = propose_mapping(sheet.headers, ledger.catalog.get(document_type), ledger.catalog.shared)
        unmapped = [header for header in sheet.headers if header not in mapping.columns]
        text = mapping.as_yaml()
        if out_file is None:
            sys.stdout.write(text)
        else:
            out_file.write_text(text, encoding="utf-8")
            err.print(f"wrote {out_file}")
        if unmapped:
            err.print(f"columns left unmapped (add them by hand if they fill a field): {', '.join(unmapped)}")


@app.command("check")
def sheet_check(
    source: SheetFile,
    map_file: Annotated[Path, typer.Option("--map", help="The column mapping (YAML: type, columns)")],
    report: Annotated[
        Path | None, typer.Option(help="Where to write every problem (CSV: row, column, field, message)")
    ] = None,
) -> None:
    """A dry run: read every row into the type's fields and report every problem, all rows, not the first.
    Exit code 0 when every row is ready to issue, 1 when some are not."""
    with open_ledger() as ledger:
        mapping = parse_mapping(read_file(map_file).decode("utf-8"), where=str(map_file))
        sheet = open_sheet(source)
        tally = Tally()
        target = report.open("w", encoding="utf-8", newline="") if report else sys.stdout
        try:
            writer = csv.writer(target)
            writer.writerow(REPORT_HEADER)
            problems = 0
            for problem in check_sheet(ledger.catalog, sheet, mapping, tally):
                writer.writerow(problem.as_row())
                problems += 1
        finally:
            if report:
                target.close()
        out_line = f"{tally.rows} rows read, {tally.valid} ready to issue, {problems} problem(s)"
        (err if report is None else out).print(out_line + (f"; report in {report}" if report else ""))
        if problems:
            raise typer.Exit(code=1)


def issue_from_sheet(
    source: Path,
    agency: str,
    *,
    document_type: str | None,
    map_file: Path | None,
    dry_run_report: Path | None,
    dry: bool,
    results: Path | None,
    pdfs: Path | None,
) -> None:
    """`sijill issue --from`: a dry run, or a job that queues each valid row, anchors them (this process's
    pipeline worker, or the service's), and writes the results file (and the certificates' zip)."""
    with open_ledger() as ledger:
        map_text = read_file(map_file).decode("utf-8") if map_file else None
        mapping = resolve_mapping(ledger, source, map_text=map_text, document_type=document_type)
        if dry:
            tally, problems = dry_run(ledger, source, mapping)
            target = dry_run_report.open("w", encoding="utf-8", newline="") if dry_run_report else sys.stdout
            try:
                writer = csv.writer(target)
                writer.writerow(REPORT_HEADER)
                writer.writerows(problem.as_row() for problem in problems)
            finally:
                if dry_run_report:
                    target.close()
            err.print(f"{tally.rows} rows read, {tally.valid} ready to issue, {len(problems)} problem(s)")
            if problems:
                raise typer.Exit(code=1)
            return
        job, new = start_job(ledger, agency, source=source, source_name=source.name, mapping=mapping)
        err.print(f"job {job.id}: {'started' if new else f'resumed after row {job.last_row}'}")
        pipeline = PipelineWorker(ledger).start()  # anchors here, or waits while the service's worker does
        try:
            final = _follow(ledger, job.id, pipeline.owner)
        finally:
            pipeline.stop()
        target_results = results or source.with_name(f"{source.stem}.results.csv")
        with target_results.open("w", encoding="utf-8", newline="") as file:
            write_results(ledger, job.id, file)
        err.print(f"wrote {target_results}")
        if pdfs is not None:
            with pdfs.open("wb") as file:
                count = write_pdfs(ledger, job.id, file)
            err.print(f"wrote {count} certificate(s) to {pdfs}")
        rows = final.rows_read
        out.print(
            f"{rows} rows: {final.rows_anchored} issued and anchored, {final.rows_invalid} invalid (see the results)",
            soft_wrap=True,
        )


def _follow(ledger: Ledger, job_id: str, owner: str) -> JobProgress:
    """Read the job's sheet here, then wait for its anchors, with a progress bar on stderr."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        reading = bar.add_task("rows read", total=None)
        anchoring = bar.add_task("anchored", total=None)

        def shown(progress: JobProgress) -> None:
            bar.update(reading, completed=progress.rows_read)
            bar.update(anchoring, completed=progress.rows_anchored, total=progress.rows_accepted or None)

        current = run_job_when_free(ledger, job_id, owner, progress=shown)
        bar.update(reading, total=current.rows_read, completed=current.rows_read)
        while current.state is not JobState.ANCHORED:
            time.sleep(FOLLOW_SECONDS)
            current = job_progress(ledger, job_id)
            shown(current)
        return current
