"""Document type definitions: what an agency registers, and the hash the registry anchors.

A definition is data, not code::

    {"id": "visitor-entry-permit", "version": 1, "owner": "moi",
     "schema": {...JSON Schema draft 2020-12, bilingual titles...},
     "neverHidden": ["permitNumber", "passportNumber"],
     "layout": ["permitNumber", "holder", "passportNumber", ...]}

`owner` is the agency that registered it, or None for a type every agency shares (registered by the
council, or with the registry itself for the types Sijill ships). `neverHidden` names the top-level
fields a holder may not hide when sharing a copy; `layout` the order in which the certificate and the
verification page show the fields, each labelled by its schema ``title`` and ``x-title-ar``.

The registry keeps keccak256 of the definition's RFC 8785 (JSON Canonicalization Scheme) bytes, with the
shared schemas it refers to (``localized-text.schema.json``) written in, so the hash fixes every rule a
document of the type was held to. Pure: imports nothing of ours beyond errors.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import rfc8785
from eth_hash.auto import keccak
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ledger.errors import InvalidRequestError

SHIPPED_DIR = Path(__file__).parent / "shipped"
SHARED_DIR = Path(__file__).parent / "schemas"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_TYPE_ID = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
MAX_DEFINITION_BYTES = 256 * 1024
"""The largest canonical definition accepted: a schema is rules, not data."""


@dataclass(frozen=True)
class TypeDefinition:
    """One version of a document type, as registered. Its canonical form and hash are worked out once."""

    id: str
    version: int
    owner: str | None  # the agency, or None for a shared type
    schema: Mapping[str, Any]
    never_hidden: tuple[str, ...]
    layout: tuple[str, ...]
    shared_schemas: Mapping[str, Mapping[str, Any]]  # the shared schemas it refers to, by file name

    @property
    def title(self) -> str:
        """The type's English title."""
        return str(self.schema.get("title", self.id))

    @property
    def title_ar(self) -> str:
        """The type's Arabic title (``x-title-ar``)."""
        return str(self.schema.get("x-title-ar", self.title))

    @property
    def description(self) -> str:
        """The schema's description, or nothing."""
        return str(self.schema.get("description", ""))

    def as_dict(self) -> dict[str, Any]:
        """The definition as it is registered and served (what the hash covers)."""
        return {
            "id": self.id,
            "version": self.version,
            "owner": self.owner,
            "schema": self.schema,
            "neverHidden": list(self.never_hidden),
            "layout": list(self.layout),
            "sharedSchemas": dict(self.shared_schemas),
        }

    @cached_property
    def canonical(self) -> bytes:
        """The definition's RFC 8785 canonical JSON."""
        return bytes(rfc8785.dumps(self.as_dict()))

    @cached_property
    def hash(self) -> str:
        """keccak256 of the canonical definition, as 0x-prefixed hex: what the registry anchors."""
        return "0x" + keccak(self.canonical).hex()


def validate_type_id(value: Any) -> str:
    """`value` if it is a valid type id (3-32 lowercase letters, digits, '-'). Raises `InvalidRequestError`."""
    if not isinstance(value, str) or not _TYPE_ID.match(value):
        raise InvalidRequestError(
            f"type id {value!r} must be 3-32 characters of lowercase letters, digits and '-', "
            "starting with a letter (it is stored on chain in 32 bytes)",
            field="id",
        )
    return value


def type_id_to_bytes32(type_id: str) -> bytes:
    """The on-chain form of a type id: its ASCII bytes, right-padded to 32."""
    return validate_type_id(type_id).encode("ascii").ljust(32, b"\0")


def type_id_from_bytes32(raw: bytes) -> str:
    """The type id an on-chain `bytes32` carries."""
    return raw.rstrip(b"\0").decode("ascii", errors="replace")


def load_shared_schemas(directory: Path = SHARED_DIR) -> dict[str, Mapping[str, Any]]:
    """The shared schemas a definition may refer to by file name (``localized-text.schema.json``)."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.schema.json"))}


def parse_definition(
    raw: Any, *, owner: str | None, version: int, shared: Mapping[str, Mapping[str, Any]]
) -> TypeDefinition:
    """A definition from what an agency sent (``id``, ``schema``, optional ``neverHidden`` and ``layout``),
    for `owner` as its `version`.

    Raises `InvalidRequestError` naming the first problem: a malformed id, a schema that is not a
    draft 2020-12 JSON Schema of an object, a top-level field without an English and an Arabic title, a
    reference to anything but a shared schema, a never-hidden or layout field the schema lacks.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRequestError("a document type definition is a JSON object", field="definition")
    type_id = validate_type_id(raw.get("id"))
    schema = raw.get("schema")
    if not isinstance(schema, dict):
        raise InvalidRequestError("'schema' must be a JSON Schema object", field="schema")
    _check_schema(schema, shared)
    properties: dict[str, Any] = schema["properties"]
    never_hidden = _field_list(raw.get("neverHidden", []), properties, "neverHidden")
    layout = _field_list(raw.get("layout", list(properties)), properties, "layout")
    used = {reference for reference in _references(schema) if not reference.startswith("#")}
    definition = TypeDefinition(
        id=type_id,
        version=version,
        owner=owner,
        schema=schema,
        never_hidden=tuple(never_hidden),
        layout=tuple(layout),
        shared_schemas={name: shared[name] for name in sorted(used)},
    )
    if len(definition.canonical) > MAX_DEFINITION_BYTES:
        raise InvalidRequestError(
            f"the definition is larger than {MAX_DEFINITION_BYTES // 1024} KiB once canonical", field="schema"
        )
    return definition


def definition_from_dict(raw: Mapping[str, Any]) -> TypeDefinition:
    """A definition read back from its stored or served form (`TypeDefinition.as_dict`), as it was
    registered. Raises `InvalidRequestError` when it is not one."""
    try:
        return TypeDefinition(
            id=validate_type_id(raw["id"]),
            version=int(raw["version"]),
            owner=raw["owner"],
            schema=raw["schema"],
            never_hidden=tuple(raw["neverHidden"]),
            layout=tuple(raw["layout"]),
            shared_schemas=dict(raw["sharedSchemas"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRequestError(f"not a stored document type definition: {error}", field="definition") from None


def shipped_definitions() -> list[TypeDefinition]:
    """The types Sijill ships, each a shared version 1 (``shipped/<id>.json``), registered with the registry.
    Read and checked once per process (the files are part of the package): every deployment and every
    `Ledger` asks for them."""
    return list(_shipped())


@functools.cache
def _shipped() -> tuple[TypeDefinition, ...]:
    shared = load_shared_schemas()
    return tuple(
        parse_definition(json.loads(path.read_text(encoding="utf-8")), owner=None, version=1, shared=shared)
        for path in sorted(SHIPPED_DIR.glob("*.json"))
    )


def _check_schema(schema: dict[str, Any], shared: Mapping[str, Mapping[str, Any]]) -> None:
    declared = schema.get("$schema", DRAFT_2020_12)
    if declared != DRAFT_2020_12:
        raise InvalidRequestError(f"'schema.$schema' must be {DRAFT_2020_12}, got {declared!r}", field="schema.$schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = ".".join(str(part) for part in error.absolute_path)
        raise InvalidRequestError(
            f"'schema' is not a valid JSON Schema (draft 2020-12): {error.message}"
            + (f" at '{where}'" if where else ""),
            field=f"schema.{where}" if where else "schema",
        ) from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        raise InvalidRequestError("'schema' must describe an object with 'properties'", field="schema.type")
    for where, spec in (("schema", schema), *((f"schema.properties.{n}", s) for n, s in schema["properties"].items())):
        if not isinstance(spec, dict) or not _text(spec.get("title")) or not _text(spec.get("x-title-ar")):
            raise InvalidRequestError(
                f"'{where}' needs a 'title' in English and an 'x-title-ar' in Arabic", field=where
            )
    for reference in _references(schema):
        if not reference.startswith("#") and reference not in shared:
            known = ", ".join(sorted(shared)) or "none"
            raise InvalidRequestError(
                f"'schema' refers to {reference!r}; a type may refer only to its own '#' parts or to the shared "
                f"schemas ({known})",
                field="schema",
            )


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _field_list(value: Any, properties: Mapping[str, Any], name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError(f"'{name}' must be a list of field names", field=name)
    if len(set(value)) != len(value):
        raise InvalidRequestError(f"'{name}' names a field twice", field=name)
    unknown = [item for item in value if item not in properties]
    if unknown:
        raise InvalidRequestError(f"'{name}' names fields the schema does not have: {', '.join(unknown)}", field=name)
    return value


def _references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str):
            yield reference
        for key, value in schema.items():
            if key not in ("const", "enum", "default", "examples"):
                yield from _references(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _references(item)
