"""Agencies and issuer keys: public reads and admin writes."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, LedgerDep
from api.schemas import (
    AddKeyBody,
    AgencyOut,
    ApiKeyOut,
    CreateApiKeyBody,
    CreatedApiKeyOut,
    KeyOut,
    RegisterAgencyBody,
    RegisteredAgencyOut,
    RetireKeyBody,
    RotatedKeysOut,
    RotateKeysBody,
    TxOut,
)
from ledger.domain import NO_END
from ledger.store.models import AgencyRow, ApiKeyRow, IssuerKeyRow
from ledger.usecases.agencies import (
    add_issuer_key,
    register_agency,
    require_agency,
    rotate_issuer_keys,
    set_key_valid_until,
)
from ledger.usecases.api_keys import create_api_key, list_api_keys, parse_scopes, revoke_api_key
from ledger.usecases.context import Ledger
from ledger.usecases.council import enact, pause_registry

public = APIRouter(prefix="/v1/agencies", tags=["agencies"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])


def _key(row: IssuerKeyRow) -> KeyOut:
    return KeyOut(
        address=row.address,
        agency_id=row.agency_id,
        valid_from=row.valid_from,
        valid_until=None if row.valid_until >= NO_END else row.valid_until,
    )


def _agency(ledger: Ledger, row: AgencyRow) -> AgencyOut:
    return AgencyOut(
        agency_id=row.id,
        name=row.name,
        name_ar=row.name_ar,
        domain=row.domain,
        keys=[_key(k) for k in ledger.store.keys_of(row.id)],
    )


@public.get("", summary="Agencies registered with this service")
def list_agencies(ledger: LedgerDep) -> list[AgencyOut]:
    """Every agency with its issuer keys and their validity windows."""
    return [_agency(ledger, row) for row in ledger.store.list_agencies()]


@public.get("/{agency_id}", summary="One agency and its issuer keys")
def read_agency(agency_id: str, ledger: LedgerDep) -> AgencyOut:
    """An agency with its issuer keys and their validity windows."""
    return _agency(ledger, require_agency(ledger, agency_id))


@admin.post("/agencies", status_code=status.HTTP_201_CREATED, summary="Register an agency")
def create_agency(body: RegisterAgencyBody, _admin: AdminDep, ledger: LedgerDep) -> RegisteredAgencyOut:
    """Register the agency on chain and return its API token (shown only here)."""
    registered = register_agency(ledger, body.agency_id, body.name, body.name_ar, domain=body.domain)
    return RegisteredAgencyOut(
        agency=_agency(ledger, registered.agency),
        token=registered.token,
        transaction=registered.receipt.tx_hash if registered.receipt else None,
    )


@admin.post("/agencies/{agency_id}/keys", status_code=status.HTTP_201_CREATED, summary="Add an issuer key")
def create_key(agency_id: str, body: AddKeyBody, _admin: AdminDep, ledger: LedgerDep) -> KeyOut:
    """Create a key for the agency, authorize it on chain for its window, and fund its gas."""
    return _key(add_issuer_key(ledger, agency_id, valid_from=body.valid_from, valid_until=body.valid_until))


@admin.post("/keys/{address}/retire", summary="Retire an issuer key or move the end of its window")
def retire_key(address: str, body: RetireKeyBody, _admin: AdminDep, ledger: LedgerDep) -> KeyOut:
    """What the key issued while valid stays valid."""
    return _key(set_key_valid_until(ledger, address, body.valid_until))


@admin.post("/agencies/{agency_id}/keys/rotate", summary="Rotate an agency's issuer keys")
def rotate_keys(agency_id: str, body: RotateKeysBody, _admin: AdminDep, ledger: LedgerDep) -> RotatedKeysOut:
    """A new key now; the others end after the overlap. Documents they issued stay valid."""
    rotated = rotate_issuer_keys(ledger, agency_id, overlap_seconds=body.overlap_seconds)
    return RotatedKeysOut(new_key=_key(rotated.new_key), retired=[_key(row) for row in rotated.retired])


def api_key_out(row: ApiKeyRow) -> ApiKeyOut:
    """An API key as the API shows it (never its token)."""
    return ApiKeyOut(
        key_id=row.id,
        agency_id=row.agency_id,
        relying_party_id=row.relying_party_id,
        label=row.label,
        scopes=row.scopes.split(),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _create_api_key(ledger: Ledger, agency_id: str | None, body: CreateApiKeyBody) -> CreatedApiKeyOut:
    issued = create_api_key(ledger, agency_id=agency_id, scopes=parse_scopes(body.scopes), label=body.label)
    return CreatedApiKeyOut(key=api_key_out(issued.key), token=issued.token)


@admin.post("/agencies/{agency_id}/api-keys", status_code=status.HTTP_201_CREATED, summary="Give an agency an API key")
def create_agency_api_key(
    agency_id: str, body: CreateApiKeyBody, _admin: AdminDep, ledger: LedgerDep
) -> CreatedApiKeyOut:
    """Scopes issue, revoke and audit; the token is shown only in this answer."""
    return _create_api_key(ledger, agency_id, body)


@admin.post("/api-keys", status_code=status.HTTP_201_CREATED, summary="Make an installation API key (admin, audit)")
def create_installation_api_key(body: CreateApiKeyBody, _admin: AdminDep, ledger: LedgerDep) -> CreatedApiKeyOut:
    """For auditors (audit) or administrators (admin); the token is shown only in this answer."""
    return _create_api_key(ledger, None, body)


@admin.get("/api-keys", summary="Every API key (no tokens: only their hashes are kept)")
def api_keys(_admin: AdminDep, ledger: LedgerDep, agency_id: str | None = None) -> list[ApiKeyOut]:
    """All keys, or one agency's with ?agency_id=."""
    return [api_key_out(row) for row in list_api_keys(ledger, agency_id)]


@admin.post("/api-keys/{key_id}/revoke", summary="Revoke an API key at once")
def revoke_key(key_id: str, _admin: AdminDep, ledger: LedgerDep) -> ApiKeyOut:
    """Every service process refuses the key from its next request."""
    return api_key_out(revoke_api_key(ledger, key_id))


@admin.post("/pause", summary="Pause every change on the registry")
def pause(_admin: AdminDep, ledger: LedgerDep) -> TxOut:
    """Emergency stop: no anchor, revocation or suspension until unpaused."""
    receipt = pause_registry(ledger)
    return TxOut(transaction=receipt.tx_hash, block_number=receipt.block_number)


@admin.post("/unpause", summary="Lift the pause")
def unpause(_admin: AdminDep, ledger: LedgerDep) -> TxOut:
    """Changes resume."""
    receipt = enact(ledger, "unpause", {})
    return TxOut(transaction=receipt.tx_hash, block_number=receipt.block_number)
