"""Document types: each a registered definition (`ledger.documents.definitions`) with its JSON Schema.

Issuing validates a document's fields against its type's schema; errors name the offending field by its
dotted path. A type may have several versions; issuing uses the latest, and a document of an earlier one
stays valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from ledger.documents.definitions import TypeDefinition, load_shared_schemas, shipped_definitions
from ledger.errors import SchemaValidationError, UnknownDocumentTypeError

try:  # a validator in Rust, several times faster; optional (see `DocumentTypeCatalog`)
    import jsonschema_rs
except ImportError:  # pragma: no cover (a platform without its wheel)
    jsonschema_rs = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class DocumentType:
    """One version of a document type: its name, titles, JSON Schema and registered definition."""

    name: str
    title: str
    description: str
    schema: Mapping[str, Any]
    definition: TypeDefinition

    @classmethod
    def of(cls, definition: TypeDefinition) -> DocumentType:
        """The type a definition describes."""
        return cls(
            name=definition.id,
            title=definition.title,
            description=definition.description,
            schema=definition.schema,
            definition=definition,
        )

    @property
    def version(self) -> int:
        """The version of the type this is."""
        return self.definition.version

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
    if reference is not None and reference in shared:
        target = shared[reference]
        result["allOf"] = [*result.get("allOf", []), {k: v for k, v in target.items() if k not in ("$id", "$schema")}]
    elif reference is not None:  # a reference inside the schema itself ('#/$defs/...')
        result["$ref"] = reference
    return result


class DocumentTypeCatalog:
    """The document types an installation issues, every version of each, with their validators.

    Where jsonschema-rs is installed it answers first, and only ever to accept: a document it
    finds valid is valid (a property test holds it to the reference validator); anything else
    goes to the reference validator (python-jsonschema), which decides and words the error.
    """

    def __init__(
        self, *, definitions: Iterable[TypeDefinition], shared: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.shared: Mapping[str, Mapping[str, Any]] = dict(load_shared_schemas() if shared is None else shared)
        resources: list[tuple[str, Resource[Any]]] = []
        for name, schema in self.shared.items():
            resources.append((name, Resource.from_contents(schema)))
            if "$id" in schema:
                resources.append((schema["$id"], Resource.from_contents(schema)))
        self._registry: Registry[Any] = Registry().with_resources(resources)
        self._versions: dict[tuple[str, int], DocumentType] = {}
        self._types: dict[str, DocumentType] = {}  # the latest version of each
        for definition in definitions:
            kind = DocumentType.of(definition)
            self._versions[(kind.name, kind.version)] = kind
            if kind.name not in self._types or self._types[kind.name].version < kind.version:
                self._types[kind.name] = kind
        self._checking: dict[tuple[str, int], tuple[Draft202012Validator, Any]] = {}

    @classmethod
    def shipped(cls) -> DocumentTypeCatalog:
        """The types Sijill ships, alone (every registry is born with them)."""
        shared = load_shared_schemas()
        return cls(definitions=shipped_definitions(), shared=shared)

    def checkers(self, kind: DocumentType) -> tuple[Draft202012Validator, Any]:
        """The reference validator of `kind` and its fast one (None without jsonschema-rs), made once."""
        key = (kind.name, kind.version)
        if key not in self._checking:
            reference = Draft202012Validator(
                dict(kind.schema), registry=self._registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            fast = None
            if jsonschema_rs is not None:
                fast = jsonschema_rs.validator_for(bundled(kind.schema, self.shared), validate_formats=True)
            self._checking[key] = (reference, fast)
        return self._checking[key]

    @property
    def names(self) -> list[str]:
        """The type names, sorted."""
        return sorted(self._types)

    def get(self, name: str, version: int | None = None) -> DocumentType:
        """The type called `name`: its latest version, or `version`. Raises `UnknownDocumentTypeError`."""
        kind = self._types.get(name) if version is None else self._versions.get((name, version))
        if kind is not None:
            return kind
        if name in self._types:
            raise UnknownDocumentTypeError(
                f"document type '{name}' has no version {version}; its latest is {self._types[name].version}",
                field="document_type",
            )
        known = ", ".join(self.names)
        raise UnknownDocumentTypeError(
            f"unknown document type '{name}'; known types: {known}", field="document_type"
        ) from None

    def versions(self, name: str) -> list[DocumentType]:
        """Every version of `name`, oldest first. Raises `UnknownDocumentTypeError`."""
        self.get(name)
        return sorted((kind for (n, _), kind in self._versions.items() if n == name), key=lambda kind: kind.version)

    def problems(self, name: str, fields: Any) -> list[tuple[str, str]]:
        """Every way `fields` fails the schema of `name` (its latest version): (dotted field path, message), a
        missing required field named by its own path. Empty when the fields are valid. Raises
        `UnknownDocumentTypeError`."""
        reference, fast = self.checkers(self.get(name))
        if fast is not None and fast.is_valid(fields):
            return []
        found = []
        for error in reference.iter_errors(fields):
            path = ".".join(str(part) for part in error.absolute_path)
            if error.validator == "required" and isinstance(error.instance, dict):
                for missing in error.validator_value:
                    if missing not in error.instance:
                        found.append((f"{path}.{missing}" if path else str(missing), "is required and empty"))
            else:
                found.append((path, error.message))
        return sorted(found)

    def validate(self, name: str, fields: Any) -> None:
        """Check `fields` against the schema of `name` (its latest version).

        Raises `UnknownDocumentTypeError`, or `SchemaValidationError` naming the
        first offending field (``fields.<dotted path>``).
        """
        reference, fast = self.checkers(self.get(name))
        if fast is not None and fast.is_valid(fields):
            return
        errors = sorted(reference.iter_errors(fields), key=lambda e: (list(e.absolute_path), e.message))
        if not errors:
            return
        error = errors[0]
        path = ".".join(str(part) for part in error.absolute_path)
        where = f"fields.{path}" if path else "fields"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SchemaValidationError(f"'{where}' is invalid for a {name}: {error.message}{more}", field=where)
