"""Public verification and selective disclosure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from api.deps import LedgerDep
from api.schemas import ObfuscateBody, verification_to_dict
from ledger.documents.wrap import obfuscate
from ledger.usecases.verify import verify_document

router = APIRouter(prefix="/v1", tags=["verification"])


@router.post("/verify", summary="Verify a wrapped document")
def verify(
    ledger: LedgerDep, document: Annotated[dict[str, Any], Body(description="A wrapped Sijill document")]
) -> dict[str, Any]:
    """The verdict (VALID, REVOKED, SUSPENDED, EXPIRED, TAMPERED, NOT_ISSUED, UNKNOWN_ISSUER) and every check."""
    return verification_to_dict(verify_document(ledger, document))


@router.post("/obfuscate", summary="Hide fields of a wrapped document")
def hide_fields(body: ObfuscateBody) -> dict[str, Any]:
    """The same document with the given fields hidden; it still verifies."""
    return obfuscate(body.document, body.fields)


@router.get("/document-types", summary="The document types and their JSON Schemas")
def document_types(ledger: LedgerDep) -> list[dict[str, Any]]:
    """Every type this service issues, with the schema its fields must satisfy."""
    catalog = ledger.catalog
    return [
        {"name": kind.name, "title": kind.title, "description": kind.description, "schema": kind.schema}
        for kind in (catalog.get(name) for name in catalog.names)
    ]
