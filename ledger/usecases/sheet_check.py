"""Checking a spreadsheet before anything is issued from it (a dry run): every row read into a document
type's fields through a column mapping and held to the type's schema, and every problem reported with its
row, column and field. The file is streamed; only the problems are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ledger.documents.types import DocumentTypeCatalog
from ledger.errors import InvalidRequestError
from ledger.sheets.mapping import ColumnMap, leaves, row_fields
from ledger.sheets.reading import Sheet, SheetRow


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of one row (row 0: the mapping itself)."""

    row: int
    column: str
    field: str
    message: str

    def as_row(self) -> list[str]:
        """The problem as a line of the report (CSV)."""
        return [str(self.row), self.column, self.field, self.message]


REPORT_HEADER = ["row", "column", "field", "message"]


@dataclass(slots=True)
class Tally:
    """How many rows were read, and how many of them are ready to issue."""

    rows: int = 0
    valid: int = 0


def mapping_problems(catalog: DocumentTypeCatalog, sheet: Sheet, mapping: ColumnMap) -> list[Problem]:
    """What is wrong with the mapping for this sheet: a column it names that the sheet lacks, a field the
    type does not have, a required field no column fills. Raises `UnknownDocumentTypeError`."""
    kind = catalog.get(mapping.document_type)
    known = {leaf.path for leaf in leaves(kind, catalog.shared)}
    problems = [
        Problem(0, column, "", f"the sheet has no column '{column}'")
        for column in mapping.columns
        if column not in sheet.headers
    ]
    problems += [
        Problem(0, column, path, f"a {kind.name} has no field '{path}'")
        for column, path in mapping.columns.items()
        if path not in known and not any(leaf.startswith(f"{path}.") for leaf in known)
    ]
    filled = set(mapping.columns.values())
    for field in kind.schema.get("required", []):
        if not any(path == field or path.startswith(f"{field}.") for path in filled):
            problems.append(Problem(0, "", field, "is required, and no column fills it"))
    return problems


def check_sheet(catalog: DocumentTypeCatalog, sheet: Sheet, mapping: ColumnMap, tally: Tally) -> Iterator[Problem]:
    """Every problem of the sheet under `mapping`, the mapping's first (row 0), then each row's in order;
    `tally` counts the rows as they stream. Raises `UnknownDocumentTypeError`, and `InvalidRequestError`
    for a mapping that names no column of the sheet at all."""
    up_front = checked_mapping(catalog, sheet, mapping)
    yield from up_front
    reader = RowReader(catalog, sheet, mapping)
    for row in sheet.rows:
        tally.rows += 1
        _fields, found = reader.read(row)
        if not found and not up_front:
            tally.valid += 1
        yield from found


def checked_mapping(catalog: DocumentTypeCatalog, sheet: Sheet, mapping: ColumnMap) -> list[Problem]:
    """`mapping_problems`, after refusing a mapping that names none of the sheet's columns (the wrong file).
    Raises `InvalidRequestError` and `UnknownDocumentTypeError`."""
    up_front = mapping_problems(catalog, sheet, mapping)
    if len([p for p in up_front if p.message.startswith("the sheet has no column")]) == len(mapping.columns):
        raise InvalidRequestError("the mapping names none of the sheet's columns: is it the right file?", field="map")
    return up_front


class RowReader:
    """Reads rows of one sheet into a type's fields through a mapping, and names each row's problems."""

    def __init__(self, catalog: DocumentTypeCatalog, sheet: Sheet, mapping: ColumnMap) -> None:
        self._catalog, self._mapping = catalog, mapping
        self._kind = catalog.get(mapping.document_type)
        self._schemas = {leaf.path: leaf.schema for leaf in leaves(self._kind, catalog.shared)}
        self._order = {column: n for n, column in enumerate(sheet.headers)}

    def read(self, row: SheetRow) -> tuple[dict[str, Any], list[Problem]]:
        """The row's fields, and its problems in the order the row reads (none: it is ready to issue)."""
        fields, unreadable = row_fields(row.cells, self._mapping, self._schemas)
        found = [Problem(row.number, column, field, message) for column, field, message in unreadable]
        skipped = {problem.field for problem in found}
        for field, message in self._catalog.problems(self._kind.name, fields):
            if any(field == bad or field.startswith(f"{bad}.") or bad.startswith(f"{field}.") for bad in skipped):
                continue  # the cell could not be read: said once, above
            found.append(Problem(row.number, self._mapping.column_of(field) or "", field, message))
        return fields, sorted(found, key=lambda problem: self._order.get(problem.column, len(self._order)))
