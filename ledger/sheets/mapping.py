"""Which spreadsheet column fills which field of a document type, and a row turned into the type's fields.

A mapping names the type and, for each column it uses, a dotted field path: ``graduate.name.en``,
``activities.0.code`` (a number is a list's position). It is written in YAML::

    type: academic-certificate
    columns:
      Certificate no.: certificateNumber
      Name: graduate.name.en
      الاسم: graduate.name.ar

`propose_mapping` makes one from a sheet's headers and the type's field names and titles, in English or
Arabic. `row_fields` reads a row into the fields a document of the type holds, each cell read as its
field's schema wants it (an Excel date or date serial as an ISO date, a whole number as text for an id),
and names what it cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import yaml

from ledger.documents.types import DocumentType
from ledger.errors import InvalidRequestError
from ledger.sheets.reading import Cell, Formula

_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.([A-Za-z][A-Za-z0-9_]*|[0-9]{1,3}))*$")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01, counting Excel's 1900-02-29
_LANGUAGES = {"en": ("English", "بالإنجليزية"), "ar": ("Arabic", "بالعربية")}
_TRUE = {"true", "yes", "y", "1", "نعم"}
_FALSE = {"false", "no", "n", "0", "لا"}


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """A document type and, for each column used, the field path it fills."""

    document_type: str
    columns: dict[str, str]

    def column_of(self, field: str) -> str | None:
        """The column that fills `field`, or the first one filling a field inside it."""
        for column, path in self.columns.items():
            if path == field:
                return column
        return next((column for column, path in self.columns.items() if path.startswith(f"{field}.")), None)

    def as_yaml(self) -> str:
        """The mapping as a person edits it."""
        return str(
            yaml.safe_dump({"type": self.document_type, "columns": self.columns}, allow_unicode=True, sort_keys=False)
        )


@dataclass(frozen=True, slots=True)
class Leaf:
    """A field a cell can fill: its dotted path, its schema, and the names a header may give it."""

    path: str
    schema: Mapping[str, Any]
    names: tuple[str, ...]


def parse_mapping(raw: Any, *, where: str = "the mapping") -> ColumnMap:
    """A mapping from its YAML (or JSON) text. Raises `InvalidRequestError` naming what is malformed."""
    try:
        loaded = yaml.safe_load(raw) if isinstance(raw, str | bytes) else raw
    except yaml.YAMLError as error:
        raise InvalidRequestError(f"{where} is not YAML: {error}", field="map") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("type"), str):
        raise InvalidRequestError(f"{where} names no document type: write 'type: <name>'", field="map")
    columns = loaded.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise InvalidRequestError(
            f"{where} maps no column: write 'columns:' with 'Column: field.path' lines", field="map"
        )
    for column, path in columns.items():
        if not isinstance(path, str) or not _PATH.match(path):
            raise InvalidRequestError(
                f"{where}: column '{column}' maps to {path!r}, not a dotted field path", field="map"
            )
    return ColumnMap(document_type=loaded["type"], columns={str(k): str(v) for k, v in columns.items()})


def _resolve(schema: Mapping[str, Any], shared: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference in shared:
        return {**shared[reference], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def leaves(kind: DocumentType, shared: Mapping[str, Mapping[str, Any]]) -> Iterator[Leaf]:
    """Every field of `kind` a single cell can fill, with the names a header may call it by."""

    def walk(schema: Mapping[str, Any], path: str, titles: tuple[str, ...]) -> Iterator[Leaf]:
        schema = _resolve(schema, shared)
        properties = schema.get("properties")
        if schema.get("type") == "object" and isinstance(properties, dict):
            localized = set(properties) == {"en", "ar"}
            for name, child in properties.items():
                child_path = f"{path}.{name}" if path else name
                if localized:
                    english, arabic = _LANGUAGES[name]
                    named = (*(f"{t} ({english})" for t in titles), *(f"{t} ({arabic})" for t in titles))
                else:  # its own titles (after its parent's), else its parent's: a graduate's name is "Graduate"
                    own = tuple(str(child[key]) for key in ("title", "x-title-ar") if key in child)
                    parents = tuple(t for t in titles if "." not in t)
                    if own:
                        named = tuple(f"{t} {n}" for t in parents for n in own) if path else own
                    elif _resolve(child, shared).get("type") == "object":
                        named = parents
                    else:
                        named = tuple(f"{t} {name}" for t in parents)
                yield from walk(child, child_path, (*named, child_path, name))
            return
        yield Leaf(path=path, schema=schema, names=titles)

    yield from walk(kind.schema, "", ())


def _key(text: str) -> str:
    return re.sub(r"[\s_\-.:()]+", "", text).casefold()


def propose_mapping(headers: tuple[str, ...], kind: DocumentType, shared: Mapping[str, Mapping[str, Any]]) -> ColumnMap:
    """A mapping for `headers`: each header that names a field (its path, its name, or its title in English or
    Arabic, with "(English)" / "(Arabic)" for either half of a bilingual field) maps to it."""
    by_name: dict[str, str] = {}
    for leaf in leaves(kind, shared):
        for name in (leaf.path, *leaf.names):
            by_name.setdefault(_key(name), leaf.path)
    taken: set[str] = set()
    columns = {}
    for header in headers:
        path = by_name.get(_key(header))
        if path is not None and path not in taken:
            columns[header] = path
            taken.add(path)
    return ColumnMap(document_type=kind.name, columns=columns)


def _as_date(value: Cell) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2_958_466:  # 9999-12-31
        return (_EXCEL_EPOCH + timedelta(days=int(value))).isoformat()
    return None


def read_cell(value: Cell, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """A cell as the field whose `schema` it fills wants it, or why it cannot be read."""
    if isinstance(value, Formula):
        return None, f"holds the formula {value.text} without its value: open the file in Excel and save it"
    if isinstance(value, time):
        return None, "holds a time of day alone"
    kind = schema.get("type")
    if schema.get("format") == "date" and not isinstance(value, str):
        read = _as_date(value)
        return (read, None) if read else (None, f"holds {value!r}, not a date")
    if kind == "integer":
        if isinstance(value, bool):
            return None, f"holds {value!r}, not a whole number"
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value), None
        if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,15}", value):
            return int(value), None
        return None, f"holds {value!r}, not a whole number"
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value, None
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return None, f"holds {value!r}, not a number"
            return (int(number) if number.is_integer() and "." not in value else number), None
        return None, f"holds {value!r}, not a number"
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().casefold()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE, None
        return None, f"holds {value!r}, not yes or no"
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None  # an id Excel kept as a number
    if isinstance(value, datetime | date):
        return _as_date(value), None
    return str(value), None


def _place(fields: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = fields
    for part, following in pairwise(parts):
        child: Any = [] if following.isdigit() else {}
        if isinstance(node, list):
            index = int(part)
            while len(node) <= index:
                node.append({} if not following.isdigit() else [])
            node = node[index]
        else:
            node = node.setdefault(part, child)
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[last] = value


def row_fields(
    cells: Mapping[str, Cell], mapping: ColumnMap, schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """A row's fields, and (column, field, message) for each cell that cannot be read. `schemas` gives each
    mapped field path its schema (`leaves`); an empty cell leaves its field out."""
    fields: dict[str, Any] = {}
    problems = []
    for column, path in mapping.columns.items():
        value = cells.get(column)
        if value is None:
            continue
        read, problem = read_cell(value, schemas.get(path, {}))
        if problem is not None:
            problems.append((column, path, problem))
        elif read is not None:
            _place(fields, path, read)
    return fields, problems
