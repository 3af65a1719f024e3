"""Verifiable Credentials: agencies' DID documents and status lists, documents' credentials, keys, derivation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from api.deps import AdminDep, IssuerDep, LedgerDep, PublicLimit
from api.schemas import AddKeyBody, CredentialKeyOut, DeriveCredentialBody, RetireKeyBody
from ledger.domain import NO_END, normalize_hash
from ledger.store.models import CredentialKeyRow
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import (
    add_credential_key,
    agency_did_document,
    credential_of,
    derive_credential,
    set_credential_key_valid_until,
)
from ledger.usecases.status_lists import status_list_credential
from ledger.vc.did import agency_did

router = APIRouter(tags=["credentials"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])

_FRESH = {"Cache-Control": "no-cache"}  # a status list or DID document changes with the chain


def _key(ledger: Ledger, row: CredentialKeyRow) -> CredentialKeyOut:
    return CredentialKeyOut(
        key_id=row.key_id,
        agency_id=row.agency_id,
        public_key=row.public_key,
        verification_method=f"{agency_did(ledger.settings.public_base_url, row.agency_id)}#{row.public_key}",
        valid_from=row.valid_from,
        valid_until=None if row.valid_until >= NO_END else row.valid_until,
    )


@router.get("/agencies/{agency_id}/did.json", summary="An agency's DID document (did:web)", dependencies=[PublicLimit])
def did_document(agency_id: str, ledger: LedgerDep, response: Response) -> dict[str, Any]:
    """The agency's credential keys the chain says are valid now, as Multikey assertion methods."""
    response.headers.update(_FRESH)
    return agency_did_document(ledger, agency_id)


@router.get(
    "/v1/status-lists/{agency_id}/{purpose}/{number}",
    summary="An agency's revocation or suspension status list (a signed credential)",
    dependencies=[PublicLimit],
)
def status_list(agency_id: str, purpose: str, number: int, ledger: LedgerDep, response: Response) -> dict[str, Any]:
    """A Bitstring Status List credential, every bit rebuilt from the registry's events; no personal data."""
    response.headers.update(_FRESH)
    return status_list_credential(ledger, agency_id, purpose, number)


@router.get("/v1/documents/{target_hash}/credential", summary="A document's W3C Verifiable Credential")
def credential(target_hash: str, actor: IssuerDep, ledger: LedgerDep, response: Response) -> dict[str, Any]:
    """For the issuing agency: the signed credential to hand the holder (ecdsa-sd-2023, selectively disclosable)."""
    response.headers["Cache-Control"] = "no-store"
    row = credential_of(ledger, actor, normalize_hash(target_hash, "target_hash"))
    assert row.credential is not None
    return row.credential


@router.post(
    "/v1/credentials/derive", summary="Disclose only chosen claims of a credential", dependencies=[PublicLimit]
)
def derive(body: DeriveCredentialBody, ledger: LedgerDep, response: Response) -> dict[str, Any]:
    """A derived credential showing only the chosen claims (and what is always shown); it verifies on its own."""
    response.headers["Cache-Control"] = "no-store"
    return derive_credential(ledger, body.credential, body.disclose)


@admin.post(
    "/agencies/{agency_id}/credential-keys", status_code=status.HTTP_201_CREATED, summary="Add a credential key"
)
def create_credential_key(agency_id: str, body: AddKeyBody, _admin: AdminDep, ledger: LedgerDep) -> CredentialKeyOut:
    """A P-256 key for the agency's credentials, registered on chain for its window."""
    row = add_credential_key(ledger, agency_id, valid_from=body.valid_from, valid_until=body.valid_until)
    return _key(ledger, row)


@admin.post("/credential-keys/{key_id}/retire", summary="Retire a credential key or move the end of its window")
def retire_credential_key(key_id: str, body: RetireKeyBody, _admin: AdminDep, ledger: LedgerDep) -> CredentialKeyOut:
    """Credentials it signed while valid stay valid."""
    return _key(ledger, set_credential_key_valid_until(ledger, key_id, body.valid_until))
