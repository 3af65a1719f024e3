"""Document types: one JSON Schema per type, kept in ``ledger/documents/schemas``.

Issuing validates a document's fields against its type's schema; errors name
the offending field by its dotted path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from ledger.errors import SchemaValidationError, UnknownDocumentTypeError

try:  # a validator in Rust, several times faster; optional (see `DocumentTypeCatalog`)
    import jsonschema_rs
except ImportError:  # pragma: no cover (a platform without its wheel)
    jsonschema_rs = None  # type: ignore[assignment]

SCHEMA_DIR = Path(__file__).parent / "schemas"
_SHARED_SCHEMAS = ("localized-text",)


@dataclass(frozen=True, slots=True)
class DocumentType:
    """One document type: its name, title, description and JSON Schema."""

    name: str
    title: str
    description: str
    schema: Mapping[str, Any]

    @property
    def title_ar(self) -> str:
        """The type's title in Arabic (``x-title-ar``), or the English one."""
        return str(self.schema.get("x-title-ar", self.title))

    def label(self, field: str) -> tuple[str, str]:
        """The English and Arabic labels of a top-level field (its ``title`` and ``x-title-ar``)."""
        spec = self.schema.get("properties", {}).get(field, {})
        english = str(spec.get("title", field))
        return english, str(spec.get("x-title-ar", english))


def bundled(schema: Any, shared: Mapping[str, Mapping[str, Any]]) -> Any:
    """`schema` with each ``$ref`` to a shared schema (by file name) replaced by an ``allOf`` of it.

    The same constraints in one self-contained document, for a validator without a registry.
    """
    if isinstance(schema, list):
        return [bundled(item, shared) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: bundled(value, shared) for key, value in schema.items() if key != "$ref"}
    reference = schema.get("$ref")
    if reference is not None:
        target = shared[reference]
        result["allOf"] = [*result.get("allOf", []), {k: v for k, v in target.items() if k not in ("$id", "$schema")}]
    return result


class DocumentTypeCatalog:
    """The document types an installation issues, with their validators.

    Where jsonschema-rs is installed it answers first, and only ever to accept: a document it
    finds valid is valid (a property test holds it to the reference validator); anything else
    goes to the reference validator (python-jsonschema), which decides and words the error.
    """

    def __init__(
        self,
        *,
        types: Mapping[str, DocumentType],
        registry: Registry,
        shared: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._types = dict(types)
        self._validators = {
            name: Draft202012Validator(
                dict(kind.schema), registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            for name, kind in self._types.items()
        }
        self.shared: Mapping[str, Mapping[str, Any]] = dict(shared or {})  # the shared schemas, by file name
        self._fast: dict[str, Any] = {}
        if jsonschema_rs is not None:
            self._fast = {
                name: jsonschema_rs.validator_for(bundled(kind.schema, shared or {}), validate_formats=True)
                for name, kind in self._types.items()
            }

    @classmethod
    def from_directory(cls, directory: Path = SCHEMA_DIR) -> DocumentTypeCatalog:
        """Load every ``<type>.schema.json`` in `directory`."""
        resources: list[tuple[str, Resource[Any]]] = []
        types: dict[str, DocumentType] = {}
        shared: dict[str, Mapping[str, Any]] = {}
        for path in sorted(directory.glob("*.schema.json")):
            schema = json.loads(path.read_text(encoding="utf-8"))
            name = path.name.removesuffix(".schema.json")
            resources.append((schema["$id"], Resource.from_contents(schema)))
            resources.append((path.name, Resource.from_contents(schema)))
            if name in _SHARED_SCHEMAS:
                shared[path.name] = schema
            else:
                types[name] = DocumentType(
                    name=name, title=schema["title"], description=schema.get("description", ""), schema=schema
                )
        return cls(types=types, registry=Registry().with_resources(resources), shared=shared)

    @property
    def names(self) -> list[str]:
        """The type names, sorted."""
        return sorted(self._types)

    def get(self, name: str) -> DocumentType:
        """The type called `name`. Raises `UnknownDocumentTypeError`."""
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(self.names)
            raise UnknownDocumentTypeError(
                f"unknown document type '{name}'; known types: {known}", field="document_type"
            ) from None

    def problems(self, name: str, fields: Any) -> list[tuple[str, str]]:
        """Every way `fields` fails the schema of `name`: (dotted field path, message), a missing required
        field named by its own path. Empty when the fields are valid. Raises `UnknownDocumentTypeError`."""
        self.get(name)
        fast = self._fast.get(name)
        if fast is not None and fast.is_valid(fields):
            return []
        found = []
        for error in self._validators[name].iter_errors(fields):
            path = ".".join(str(part) for part in error.absolute_path)
            if error.validator == "required" and isinstance(error.instance, dict):
                for missing in error.validator_value:
                    if missing not in error.instance:
                        found.append((f"{path}.{missing}" if path else str(missing), "is required and empty"))
            else:
                found.append((path, error.message))
        return sorted(found)

    def validate(self, name: str, fields: Any) -> None:
        """Check `fields` against the schema of `name`.

        Raises `UnknownDocumentTypeError`, or `SchemaValidationError` naming the
        first offending field (``fields.<dotted path>``).
        """
        self.get(name)
        fast = self._fast.get(name)
        if fast is not None and fast.is_valid(fields):
            return
        errors = sorted(self._validators[name].iter_errors(fields), key=lambda e: (list(e.absolute_path), e.message))
        if not errors:
            return
        error = errors[0]
        path = ".".join(str(part) for part in error.absolute_path)
        where = f"fields.{path}" if path else "fields"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SchemaValidationError(f"'{where}' is invalid for a {name}: {error.message}{more}", field=where)
