"""API keys: making them (the token is shown once), checking them, listing and revoking them."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.api_keys import key_id_of, new_token
from ledger.errors import AgencyNotFoundError, AuthenticationError, InvalidRequestError, NotFoundError
from ledger.store.models import ApiKeyRow
from ledger.usecases.actors import ADMIN, AGENCY_SCOPES, Actor, Scope
from ledger.usecases.context import Ledger


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new API key and its token, which nobody can see again."""

    key: ApiKeyRow
    token: str


def _require_agency(ledger: Ledger, agency_id: str) -> None:
    if ledger.store.get_agency(agency_id) is None:
        raise AgencyNotFoundError(f"no agency '{agency_id}' is registered with this service")


def parse_scopes(names: Iterable[str]) -> frozenset[Scope]:
    """Scopes from their names. Raises `InvalidRequestError` for an unknown one."""
    scopes = set()
    for name in names:
        try:
            scopes.add(Scope(name.strip().lower()))
        except ValueError:
            known = ", ".join(scope.value for scope in Scope)
            raise InvalidRequestError(f"no scope '{name}'; the scopes are {known}", field="scopes") from None
    return frozenset(scopes)


def scopes_of(row: ApiKeyRow) -> frozenset[Scope]:
    """The scopes an API key holds."""
    return frozenset(Scope(name) for name in row.scopes.split())


def create_api_key(
    ledger: Ledger,
    *,
    agency_id: str | None,
    scopes: Iterable[Scope] = AGENCY_SCOPES,
    label: str = "default",
    token: str | None = None,
    relying_party_id: str | None = None,
) -> IssuedApiKey:
    """An API key for an agency (scopes issue, revoke, audit), a relying party (relying-party) or the
    installation (admin, audit, monitor).

    `token` sets the token (the development seed uses a known one); otherwise a random
    one is made. Raises `InvalidRequestError` for no scopes or scopes the holder may not
    have, `AgencyNotFoundError`, and `ConflictError` for a token whose key id is taken.
    """
    wanted = frozenset(scopes)
    if not wanted:
        raise InvalidRequestError("an API key needs at least one scope", field="scopes")
    if (Scope.RELYING_PARTY in wanted) != (relying_party_id is not None) or (relying_party_id and agency_id):
        raise InvalidRequestError(
            "the relying-party scope belongs to a relying party's key, alone; name the relying party", field="scopes"
        )
    if relying_party_id is not None:
        if wanted != {Scope.RELYING_PARTY}:
            raise InvalidRequestError("a relying party's key holds the relying-party scope only", field="scopes")
        if ledger.presentations.party(relying_party_id) is None:
            raise NotFoundError(f"no relying party '{relying_party_id}' is registered with this service")
    elif agency_id is not None:
        _require_agency(ledger, agency_id)
        if not wanted <= AGENCY_SCOPES:
            raise InvalidRequestError("an agency's key may hold only issue, revoke and audit", field="scopes")
    elif Scope.ISSUE in wanted or Scope.REVOKE in wanted:
        raise InvalidRequestError("issue and revoke belong to an agency's key; name the agency", field="scopes")
    if not label.strip() or len(label) > 100:
        raise InvalidRequestError("a label is 1 to 100 characters", field="label")
    if token is None:
        key_id, token = new_token()
    else:
        found = key_id_of(token)
        if found is None or len(token) < 16:
            raise InvalidRequestError("a chosen token needs at least 16 ASCII characters", field="token")
        key_id = found
    row = ApiKeyRow(
        id=key_id,
        agency_id=agency_id,
        relying_party_id=relying_party_id,
        label=label.strip(),
        scopes=" ".join(sorted(scope.value for scope in wanted)),
        secret_hash=ledger.token_hasher.hash(token),
    )
    return IssuedApiKey(key=ledger.store.add_api_key(row), token=token)


def authenticate(ledger: Ledger, token: str) -> Actor:
    """The caller behind a bearer token. Raises `AuthenticationError` for anything else."""
    admin_token = ledger.settings.admin_token.get_secret_value().encode()
    if hmac.compare_digest(token.encode("utf-8", "surrogateescape"), admin_token):
        return ADMIN
    key_id = key_id_of(token)
    row = ledger.store.get_api_key(key_id) if key_id is not None else None
    if row is None or not ledger.token_hasher.matches(row.secret_hash, token):
        raise AuthenticationError("the API token is not valid")
    if row.revoked_at is not None:
        raise AuthenticationError(f"API key '{row.id}' was revoked; ask the administrator for a new one")
    return Actor(agency_id=row.agency_id, scopes=scopes_of(row), key_id=row.id, relying_party_id=row.relying_party_id)


def list_api_keys(ledger: Ledger, agency_id: str | None = None) -> list[ApiKeyRow]:
    """Every API key, or an agency's (without secrets: only hashes are stored)."""
    if agency_id is not None:
        _require_agency(ledger, agency_id)
    return ledger.store.list_api_keys(agency_id)


def revoke_api_key(ledger: Ledger, key_id: str) -> ApiKeyRow:
    """Revoke an API key at once, in every service process. Raises `NotFoundError`."""
    row = ledger.store.revoke_api_key(key_id, ledger.clock())
    if row is None:
        raise NotFoundError(f"no API key '{key_id}'")
    return row
