"""Governance: registering agencies, their API keys and their issuer keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.domain import TxReceipt, validate_agency_id
from ledger.errors import AgencyNotFoundError, ConflictError, InvalidRequestError, NotFoundError
from ledger.store.models import AgencyRow, IssuerKeyRow
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True, slots=True)
class RegisteredAgency:
    """A new agency and the token of its first API key (every agency scope; shown once)."""

    agency: AgencyRow
    token: str
    receipt: TxReceipt | None


def register_agency(
    ledger: Ledger,
    agency_id: str,
    name: str,
    name_ar: str | None = None,
    *,
    domain: str | None = None,
    token: str | None = None,
) -> RegisteredAgency:
    """Register an agency on chain and in the store, and give it an API token.

    `domain` is where the agency publishes its OpenAttestation DNS-TXT identity
    record. Raises `InvalidRequestError` for a malformed id, domain or empty name,
    `AgencyAlreadyRegisteredError` when the chain knows it already, and chain errors.
    """
    validate_agency_id(agency_id)
    if not name.strip():
        raise InvalidRequestError("an agency needs a name", field="name")
    if domain is not None and not _DOMAIN.match(domain):
        raise InvalidRequestError(f"'{domain}' is not a domain name such as moci.gov.qa", field="domain")
    if ledger.store.get_agency(agency_id) is not None:
        raise ConflictError(f"agency '{agency_id}' is registered already")
    on_chain = ledger.registry.agency_name(agency_id)
    if on_chain is None:
        receipt: TxReceipt | None = ledger.registry.register_agency(ledger.admin, agency_id, name.strip())
    elif on_chain == name.strip():
        receipt = None  # registered on chain by an earlier attempt whose store write failed: adopt it
    else:
        raise ConflictError(f"agency '{agency_id}' is registered on chain as '{on_chain}'")
    row = ledger.store.add_agency(agency_id, name.strip(), name_ar, receipt.tx_hash if receipt else None, domain)
    issued = create_api_key(ledger, agency_id=agency_id, token=token)
    return RegisteredAgency(agency=row, token=issued.token, receipt=receipt)


def require_agency(ledger: Ledger, agency_id: str) -> AgencyRow:
    """The stored agency `agency_id`. Raises `AgencyNotFoundError`."""
    row = ledger.store.get_agency(agency_id)
    if row is None:
        raise AgencyNotFoundError(f"no agency '{agency_id}' is registered with this service")
    return row


def add_issuer_key(ledger: Ledger, agency_id: str, *, valid_from: int = 0, valid_until: int = 0) -> IssuerKeyRow:
    """Create an issuer key for an agency, authorize it on chain, fund its gas and store it encrypted.

    `valid_from` 0 means now, `valid_until` 0 means no end.
    """
    require_agency(ledger, agency_id)
    now = ledger.registry.chain_time()
    if valid_until and valid_until <= max(valid_from, now):
        raise InvalidRequestError("'valid_until' must be after 'valid_from' and in the future", field="valid_until")
    account, encrypted = ledger.vault.generate()
    # Keep the key before it is authorized (with an empty window), so a failure after the
    # chain accepted it never loses the only copy of its private key.
    ledger.store.add_key(
        address=account.address, agency_id=agency_id, encrypted_key=encrypted, valid_from=0, valid_until=0, tx_hash=None
    )
    receipt = ledger.registry.add_issuer_key(ledger.admin, agency_id, account.address, valid_from, valid_until)
    if ledger.settings.fund_new_keys_wei > 0:
        ledger.registry.send_value(ledger.admin, account.address, ledger.settings.fund_new_keys_wei)
    info = ledger.registry.issuer_key(account.address)
    return ledger.store.authorize_key(account.address, info.valid_from, info.valid_until, receipt.tx_hash)


def set_key_valid_until(ledger: Ledger, address: str, valid_until: int | None = None) -> IssuerKeyRow:
    """Retire a key now (`valid_until` None) or move the end of its window.

    What the key anchored while it was valid stays valid.
    """
    row = ledger.store.get_key(address)
    if row is None:
        raise NotFoundError(f"no issuer key {address} is kept by this service")
    ledger.registry.set_issuer_key_valid_until(ledger.admin, address, valid_until or 0)
    info = ledger.registry.issuer_key(address)
    ledger.store.set_key_valid_until(address, info.valid_until)
    row.valid_until = info.valid_until
    return row


@dataclass(frozen=True, slots=True)
class RotatedKeys:
    """An agency's new issuer key and the keys whose windows now end."""

    new_key: IssuerKeyRow
    retired: list[IssuerKeyRow]


def rotate_issuer_keys(ledger: Ledger, agency_id: str, *, overlap_seconds: int = 600) -> RotatedKeys:
    """Give an agency a new issuer key and end its other keys `overlap_seconds` from now.

    The overlap lets anchors already signed with an old key land. Everything an old key
    anchored while valid stays valid: the registry judges a key by the anchor's time.
    """
    new_key = add_issuer_key(ledger, agency_id)
    now = ledger.registry.chain_time()
    ends = now + overlap_seconds if overlap_seconds > 0 else None  # None: now
    retired = [
        set_key_valid_until(ledger, row.address, ends)
        for row in ledger.store.keys_of(agency_id)
        if row.address != new_key.address and row.valid_until > (ends or now)
    ]
    return RotatedKeys(new_key=new_key, retired=retired)
