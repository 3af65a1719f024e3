"""`sijill sheet`: a registrar's spreadsheet (CSV or XLSX) held to a document type before anything is issued:
a column mapping proposed from its headers, and a dry run reporting every problem by row, column and field."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import err, open_ledger, out, read_file
from ledger.sheets.mapping import parse_mapping, propose_mapping
from ledger.sheets.reading import open_sheet
from ledger.usecases.sheet_check import REPORT_HEADER, Tally, check_sheet

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
