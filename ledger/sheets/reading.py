"""Reading a registrar's spreadsheet a row at a time: CSV (UTF-8, with or without a byte-order mark, or
Windows-1256, which Excel writes for Arabic) or XLSX (openpyxl, read-only: the file is streamed, never held).

Each row keeps its number as the spreadsheet shows it (the header is row 1), and empty rows are skipped.
A cell holds text, a number, a boolean or a date and time; an XLSX formula whose value was never computed
(a file written by a program, not saved by Excel) is a `Formula` marker, so a report can name it.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from ledger.errors import InvalidRequestError

MAX_COLUMNS = 500
_SNIFF_BYTES = 64 * 1024


class SheetError(InvalidRequestError):
    """A file that cannot be read as a spreadsheet."""


@dataclass(frozen=True, slots=True)
class Formula:
    """A cell holding a formula whose value the file does not carry."""

    text: str


Cell = str | int | float | bool | datetime | date | time | Formula | None


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One row: its number in the spreadsheet (the header is row 1) and its cells by column name."""

    number: int
    cells: dict[str, Cell]


@dataclass(frozen=True, slots=True)
class Sheet:
    """A spreadsheet's header and its rows (an iterator: read once, as the file streams)."""

    headers: tuple[str, ...]
    rows: Iterator[SheetRow]
    encoding: str | None  # a CSV's, as it was read


def _headers(raw: list[Any], where: str) -> tuple[str, ...]:
    headers = tuple("" if cell is None else str(cell).strip() for cell in raw)
    while headers and not headers[-1]:
        headers = headers[:-1]
    if not headers:
        raise SheetError(f"{where} has no header row: its first row must name the columns")
    if len(headers) > MAX_COLUMNS:
        raise SheetError(f"{where} has {len(headers)} columns; at most {MAX_COLUMNS} are read")
    blank = [n + 1 for n, name in enumerate(headers) if not name]
    if blank:
        raise SheetError(f"{where}'s header leaves column {blank[0]} without a name")
    seen: set[str] = set()
    for name in headers:
        if name in seen:
            raise SheetError(f"{where}'s header names the column '{name}' twice")
        seen.add(name)
    return headers


def csv_encoding(head: bytes) -> str:
    """The encoding of a CSV file from its first bytes: UTF-8 (with or without a byte-order mark), else
    Windows-1256 (Arabic Excel's "CSV" export). A file that is neither is refused."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SheetError("the file is UTF-16: save it as CSV UTF-8 (or as XLSX)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1256")
    except UnicodeDecodeError:
        raise SheetError("the file is neither UTF-8 nor Windows-1256 text: save it as CSV UTF-8") from None
    return "cp1256"


def read_csv(buffered: io.BufferedReader, *, where: str = "the file") -> Sheet:
    """A CSV spreadsheet from a buffered binary stream (read as it is iterated; closed at the end)."""
    encoding = csv_encoding(buffered.peek(_SNIFF_BYTES)[:_SNIFF_BYTES])
    text = io.TextIOWrapper(buffered, encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        first = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as error:
        raise SheetError(f"{where} cannot be read as CSV: {error}") from None
    if first is None:
        raise SheetError(f"{where} is empty")
    headers = _headers(list(first), where)

    def rows() -> Iterator[SheetRow]:
        try:
            for values in reader:
                number = reader.line_num
                if not any(value.strip() for value in values):
                    continue
                cells: dict[str, Cell] = {
                    name: (values[n].strip() or None) if n < len(values) else None for n, name in enumerate(headers)
                }
                yield SheetRow(number=number, cells=cells)
        except UnicodeDecodeError:
            raise SheetError(f"{where} changes encoding part way ({encoding} at first): save it as CSV UTF-8") from None
        except csv.Error as error:
            raise SheetError(f"{where} is not valid CSV near line {reader.line_num}: {error}") from None
        finally:
            text.close()

    return Sheet(headers=headers, rows=rows(), encoding=encoding)


def read_xlsx(path: Path, *, where: str = "the file") -> Sheet:
    """An XLSX spreadsheet's first sheet, streamed (openpyxl read-only); formulas without a value marked."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        values = load_workbook(path, read_only=True, data_only=True)
        formulas = load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as error:
        raise SheetError(f"{where} is not an XLSX workbook Sijill can read: {error}") from None
    if not values.worksheets:
        raise SheetError(f"{where} has no worksheet")
    sheet, shadow = values.worksheets[0], formulas.worksheets[0]
    merged = merged_ranges(shadow)
    if merged:
        values.close()
        formulas.close()
        shown = ", ".join(merged[:5]) + (f" and {len(merged) - 5} more" if len(merged) > 5 else "")
        raise SheetError(
            f"{where} has merged cells ({shown}): a merged cell holds its value in its first cell only, so the "
            "rows under it would lose it; unmerge them and write the value in each cell"
        )
    pairs = zip(sheet.iter_rows(values_only=True), shadow.iter_rows(values_only=True), strict=False)
    first = next(pairs, None)
    if first is None:
        raise SheetError(f"{where}'s first worksheet is empty")
    headers = _headers(list(first[0]), where)

    def rows() -> Iterator[SheetRow]:
        try:
            for number, (row, written) in enumerate(pairs, start=2):
                cells: dict[str, Cell] = {}
                for n, name in enumerate(headers):
                    value = row[n] if n < len(row) else None
                    source = written[n] if n < len(written) else None
                    if value is None and isinstance(source, str) and source.startswith("="):
                        cells[name] = Formula(source)
                    elif isinstance(value, str):
                        cells[name] = value.strip() or None
                    else:
                        cells[name] = value
                if all(cell is None for cell in cells.values()):
                    continue
                yield SheetRow(number=number, cells=cells)
        finally:
            values.close()
            formulas.close()

    return Sheet(headers=headers, rows=rows(), encoding=None)


def merged_ranges(sheet: Any) -> list[str]:
    """The merged ranges of a read-only worksheet (``A2:A3``), read with openpyxl's own streaming parser: a
    read-only sheet does not keep them, and the file says them after its rows, so this is a pass of its own."""
    from openpyxl.worksheet._reader import WorkSheetParser  # the parser read-only sheets use, which sees them

    with sheet._get_source() as source:
        parser = WorkSheetParser(source, [])
        for _ in parser.parse():
            pass
    return [str(cell.ref) for cell in parser.merged_cells.mergeCell] if parser.merged_cells else []


def open_sheet(path: Path) -> Sheet:
    """The spreadsheet at `path`, by its suffix (.csv or .xlsx). Raises `SheetError`."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path.open("rb"), where=path.name)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, where=path.name)
    raise SheetError(f"{path.name}: a spreadsheet is a .csv or .xlsx file (Excel: Save As, CSV UTF-8 or Workbook)")
