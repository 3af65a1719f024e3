"""Spreadsheets read a row at a time (CSV in UTF-8, UTF-8 with a BOM or Windows-1256; XLSX through openpyxl),
mapped to a document type's fields, and checked without issuing: the dry run's report names exactly the
problems planted in the file, by row, column and field."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ledger.documents.types import DocumentTypeCatalog
from ledger.errors import InvalidRequestError
from ledger.sheets.mapping import parse_mapping, propose_mapping, read_cell
from ledger.sheets.reading import Formula, SheetError, open_sheet, read_csv
from ledger.usecases.sheet_check import Tally, check_sheet

CATALOG = DocumentTypeCatalog.shipped()
HEADERS = ["Certificate number", "Graduate (English)", "Graduate (Arabic)", "Student ID", "Date of birth",
           "Degree (English)", "Degree (Arabic)", "Major (English)", "Major (Arabic)", "Honours", "GPA",
           "Graduation date"]  # fmt: skip
MAPPING = parse_mapping(
    """
type: academic-certificate
columns:
  Certificate number: certificateNumber
  Graduate (English): graduate.name.en
  Graduate (Arabic): graduate.name.ar
  Student ID: graduate.studentId
  Date of birth: graduate.dateOfBirth
  Degree (English): degree.en
  Degree (Arabic): degree.ar
  Major (English): major.en
  Major (Arabic): major.ar
  Honours: honours
  GPA: gpa
  Graduation date: graduationDate
"""
)


def good_row(n: int) -> list[Any]:
    graduated = [date(2026, 6, 15), 46188, datetime(2026, 6, 15, 0, 0), "2026-06-15"][n % 4]  # a serial too
    return [f"QU-BSC-2026-{n:04d}", f"Graduate {n}", "خريج", f"2019{n:05d}", date(2001, 3, 14),
            "Bachelor of Science", "بكالوريوس العلوم", "Computer Engineering", "هندسة الحاسوب",
            "cum-laude", 3.5, graduated]  # fmt: skip


# Ten kinds of problem, each planted in some rows: (column, the bad value, the field the report must name).
KINDS: list[tuple[str, Any, str]] = [
    ("Certificate number", None, "certificateNumber"),  # required, empty
    ("Certificate number", "bad id!", "certificateNumber"),  # against the pattern
    ("Honours", "excellent", "honours"),  # not one of the values
    ("GPA", "four", "gpa"),  # not a number
    ("GPA", 4.5, "gpa"),  # above the maximum
    ("Graduation date", "2026-02-30", "graduationDate"),  # no such day
    ("GPA", Formula("=B2*2"), "gpa"),  # a formula without its value
    ("Major (English)", "x" * 501, "major.en"),  # too long
    ("Date of birth", time(10, 30), "graduate.dateOfBirth"),  # a time of day, not a date
    ("Graduation date", -5, "graduationDate"),  # a date serial before 1900
]


def planted_workbook(path: Path, rows: int = 1000, errors: int = 37) -> set[tuple[int, str, str]]:
    """An XLSX of `rows` graduates (and a few empty rows) with `errors` problems of the ten kinds; the
    (row, column, field) of each."""
    chosen = random.Random(16).sample(range(2, rows + 2), errors)
    planted = {}
    for n, row_number in enumerate(chosen):
        planted[row_number] = KINDS[n % len(KINDS)]
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    expected = set()
    number = 1
    for n in range(rows):
        if n in (10, 500):
            sheet.append([None] * len(HEADERS))  # empty rows are skipped, their numbers kept
            number += 1
        number += 1
        values = good_row(n)
        row_number = n + 2
        if row_number in planted:
            column, value, field = planted[row_number]
            values[HEADERS.index(column)] = value.text if isinstance(value, Formula) else value
            expected.add((number, column, field))
        sheet.append(values)
    book.save(path)
    return expected


def problems_of(path: Path) -> tuple[list[Any], Tally]:
    tally = Tally()
    return list(check_sheet(CATALOG, open_sheet(path), MAPPING, tally)), tally


def test_the_dry_run_report_names_exactly_the_planted_problems(tmp_path: Path) -> None:
    expected = planted_workbook(tmp_path / "graduates.xlsx")
    found, tally = problems_of(tmp_path / "graduates.xlsx")
    assert tally.rows == 1000
    assert tally.valid == 1000 - 37
    assert {(p.row, p.column, p.field) for p in found} == expected
    assert len(found) == 37  # one line each: a cell that cannot be read is not also a schema problem
    messages = {p.field: p.message for p in found}
    assert "formula =B2*2 without its value" in next(p.message for p in found if "formula" in p.message)
    assert messages["certificateNumber"]


def test_a_csv_in_each_encoding_registrars_save_reads_alike(tmp_path: Path) -> None:
    text = "Certificate number,Graduate (Arabic)\nQU-BSC-2026-0001,نورة المناعي\n"
    for encoding, data in (("utf-8", text.encode()), ("utf-8-sig", b"\xef\xbb\xbf" + text.encode()),
                           ("cp1256", text.encode("cp1256"))):  # fmt: skip
        (tmp_path / "g.csv").write_bytes(data)
        sheet = open_sheet(tmp_path / "g.csv")
        assert sheet.encoding == encoding
        assert sheet.headers == ("Certificate number", "Graduate (Arabic)")
        (row,) = list(sheet.rows)
        assert row.number == 2
        assert row.cells["Graduate (Arabic)"] == "نورة المناعي"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("g.csv", "a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        ("g.csv", b"", "is empty"),
        ("g.csv", b"a,,c\n1,2,3\n", "column 2 without a name"),
        ("g.csv", b"a,a\n1,2\n", "names the column 'a' twice"),
        ("g.xlsx", b"PK\x03\x04 not really a workbook", "not an XLSX workbook"),
        ("g.ods", b"x", "a .csv or .xlsx file"),
    ],
)
def test_a_file_that_is_no_spreadsheet_is_refused_with_the_reason(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SheetError, match=message):
        open_sheet(tmp_path / name)


def test_a_mapping_is_proposed_from_english_or_arabic_headers() -> None:
    kind = CATALOG.get("academic-certificate")
    proposed = propose_mapping(("Certificate number", "الخريج (بالعربية)", "Graduate (English)", "studentId", "GPA",
                                "التخصص (English)", "Notes"), kind, CATALOG.shared)  # fmt: skip
    assert proposed.columns == {
        "Certificate number": "certificateNumber",
        "الخريج (بالعربية)": "graduate.name.ar",
        "Graduate (English)": "graduate.name.en",
        "studentId": "graduate.studentId",
        "GPA": "gpa",
        "التخصص (English)": "major.en",
    }
    assert parse_mapping(proposed.as_yaml()) == proposed


def test_cells_are_read_as_their_fields_want_them() -> None:
    assert read_cell(46188, {"type": "string", "format": "date"}) == ("2026-06-15", None)
    assert read_cell(201904512.0, {"type": "string"}) == ("201904512", None)  # an id Excel kept as a number
    assert read_cell("7", {"type": "integer"}) == (7, None)
    assert read_cell(2.5, {"type": "integer"})[1] == "holds 2.5, not a whole number"
    assert read_cell("نعم", {"type": "boolean"}) == (True, None)


def test_a_mapping_for_another_sheet_is_refused_and_a_missing_required_field_is_named(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("Something,Else\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidRequestError, match="names none of the sheet's columns"):
        problems_of(tmp_path / "g.csv")
    partial = parse_mapping("type: academic-certificate\ncolumns:\n  Certificate number: certificateNumber\n")
    (tmp_path / "h.csv").write_text("Certificate number\nQU-BSC-2026-0001\n", encoding="utf-8")
    found = list(check_sheet(CATALOG, open_sheet(tmp_path / "h.csv"), partial, Tally()))
    assert ("graduate", "is required, and no column fills it") in {(p.field, p.message) for p in found if p.row == 0}


def test_rows_come_one_at_a_time_with_their_spreadsheet_numbers() -> None:
    data = b"Certificate number\nQU-BSC-2026-0001\n\n,\nQU-BSC-2026-0004\n"
    sheet = read_csv(io.BufferedReader(io.BytesIO(data)))
    assert [(row.number, row.cells["Certificate number"]) for row in sheet.rows] == [
        (2, "QU-BSC-2026-0001"),
        (5, "QU-BSC-2026-0004"),
    ]
