"""Document types as data: registered by an agency (its own) or the council (shared), read by anyone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from api.deps import ActorDep, LedgerDep
from ledger.errors import PermissionDeniedError
from ledger.usecases.actors import Actor, Scope
from ledger.usecases.document_types import (
    RegisteredVersion,
    document_type_versions,
    list_document_types,
    register_document_type,
)

router = APIRouter(prefix="/v1/document-types", tags=["document types"])


def _shown(version: RegisteredVersion) -> dict[str, Any]:
    """A version as the API shows it, with the keys the verification page reads (name, title, schema)."""
    kind = version.definition
    return {"name": kind.id, "description": kind.description, "schema": kind.schema, **version.as_dict()}


@router.get("", summary="The document types and their JSON Schemas")
def document_types(ledger: LedgerDep) -> list[dict[str, Any]]:
    """Every type this service issues (its latest version), with the schema its fields must satisfy, the
    fields no holder may hide, its layout, and the registry's record of its definition's hash."""
    return [_shown(version) for version in list_document_types(ledger)]


@router.get("/{type_id}", summary="Every version of a document type")
def document_type(ledger: LedgerDep, type_id: str) -> dict[str, Any]:
    """The type's versions, oldest first: a document of any of them stays valid."""
    versions = document_type_versions(ledger, type_id)
    return {"id": type_id, "versions": [_shown(version) for version in versions]}


def _owner(actor: Actor, asked: Any) -> str | None:
    """Whose type the caller registers: an agency's key its own agency's; the admin a shared type, or an
    agency's when it names one. Raises `PermissionDeniedError`."""
    if actor.is_admin:
        return asked if isinstance(asked, str) else None
    if actor.agency_id is None or Scope.ISSUE not in actor.scopes:
        raise PermissionDeniedError("registering a document type needs an agency's issue key or the admin key")
    if asked is not None and asked != actor.agency_id:
        raise PermissionDeniedError(f"an agency registers its own types only, not agency '{asked}''s")
    return actor.agency_id


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a document type, or its next version")
def register(
    ledger: LedgerDep,
    actor: ActorDep,
    response: Response,
    definition: Annotated[
        dict[str, Any],
        Body(
            description="`id`, `schema` (JSON Schema draft 2020-12 with `title` and `x-title-ar`), `neverHidden` "
            "(top-level fields no holder may hide), `layout` (the fields in the order shown); the admin may "
            "name an agency as `owner`, else the type is shared"
        ),
    ],
) -> dict[str, Any]:
    """The registered version: its definition, the hash the registry holds, and the transaction (201); the
    same definition as the type's latest version answers that version (200), registering nothing."""
    owner = _owner(actor, definition.get("owner"))
    fields = {key: value for key, value in definition.items() if key != "owner"}
    version, receipt = register_document_type(ledger, fields, owner=owner)
    if receipt is None:  # the type's latest version already: nothing new was registered
        response.status_code = status.HTTP_200_OK
    return _shown(version)
