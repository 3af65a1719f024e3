"""Governance: admitting agencies, their admins, their API keys and their issuer keys.

The registry keeps governing and issuing apart: the council admits an agency and names
its admin; the agency's admin (never the council) adds, extends and retires its issuer
keys. When the agency does not bring its own admin address, this installation creates
one and keeps it encrypted, like the issuer keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from ledger.chain.signer import Signer
from ledger.domain import TxReceipt, validate_agency_id
from ledger.errors import AgencyNotFoundError, ConflictError, InvalidRequestError, NotFoundError, PermissionDeniedError
from ledger.store.models import AgencyRow, IssuerKeyRow
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger
from ledger.usecases.council import enact
from ledger.usecases.sending import send_call

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
    """Admit an agency on chain and in the store, give it an admin key and an API token.

    `domain` is where the agency publishes its OpenAttestation DNS-TXT identity
    record. Raises `InvalidRequestError` for a malformed id, domain or empty name,
    `ConflictError` when the chain knows it already under another name, and chain errors.
    """
    validate_agency_id(agency_id)
    if not name.strip():
        raise InvalidRequestError("an agency needs a name", field="name")
    if domain is not None and not _DOMAIN.match(domain):
        raise InvalidRequestError(f"'{domain}' is not a domain name such as moci.gov.qa", field="domain")
    if ledger.store.get_agency(agency_id) is not None:
        raise ConflictError(f"agency '{agency_id}' is registered already")
    on_chain = ledger.registry.agency_name(agency_id)
    if on_chain is not None and on_chain != name.strip():
        raise ConflictError(f"agency '{agency_id}' is registered on chain as '{on_chain}'")
    receipt: TxReceipt | None = None
    if on_chain is None:
        kept = ledger.agency_admins.get(agency_id)
        if kept is None:  # the agency's admin key, kept before the council is asked, so it is never lost
            admin, sealed = _new_admin_key(ledger)
            kept = ledger.agency_admins.add(agency_id, admin.address, sealed)
        arguments = {"agency_id": agency_id, "name": name.strip(), "admin": kept.address}
        receipt = enact(ledger, "admit-agency", arguments)
    # else: admitted on chain by an earlier attempt (or a council proposal) whose store write failed: adopt it
    row = ledger.store.add_agency(agency_id, name.strip(), name_ar, receipt.tx_hash if receipt else None, domain)
    issued = create_api_key(ledger, agency_id=agency_id, token=token)
    return RegisteredAgency(agency=row, token=issued.token, receipt=receipt)


def _new_admin_key(ledger: Ledger) -> tuple[LocalAccount, str]:
    """A fresh agency admin key and its sealed copy, funded for its gas when the settings say so."""
    account, sealed = ledger.vault.generate()
    _fund(ledger, account.address)
    return account, sealed


def _fund(ledger: Ledger, address: str) -> None:
    """Send a new key its gas money, unless the settings send none or the network's gas is free."""
    if ledger.settings.fund_new_keys_wei > 0 and not ledger.settings.free_gas:
        send_call(ledger, ledger.admin, address, value=ledger.settings.fund_new_keys_wei)


def agency_admin_signer(ledger: Ledger, agency_id: str) -> Signer:
    """The signer of an agency's admin, when this installation holds its key.

    Raises `PermissionDeniedError` when the agency holds its own admin key: its changes
    to its keys are then signed by that key, outside this service.
    """
    row = ledger.agency_admins.get(agency_id)
    if row is None or row.address != ledger.registry.agency_admin(agency_id):
        raise PermissionDeniedError(
            f"agency '{agency_id}' holds its own admin key: it manages its issuer keys with that key "
            "(`sijill key add --admin-key-file`), not through this service"
        )
    return ledger.vault.decrypt(row.encrypted_key, row.address)


def require_agency(ledger: Ledger, agency_id: str) -> AgencyRow:
    """The stored agency `agency_id`. Raises `AgencyNotFoundError`."""
    row = ledger.store.get_agency(agency_id)
    if row is None:
        raise AgencyNotFoundError(f"no agency '{agency_id}' is registered with this service")
    return row


def add_issuer_key(
    ledger: Ledger, agency_id: str, *, valid_from: int = 0, valid_until: int = 0, admin: Signer | None = None
) -> IssuerKeyRow:
    """Create an issuer key for an agency, authorize it on chain, fund its gas and store it encrypted.

    `valid_from` 0 means now, `valid_until` 0 means no end. The agency's admin signs the
    authorization: `admin` when given (an agency holding its own admin key), else the
    admin key this installation keeps for the agency.
    """
    require_agency(ledger, agency_id)
    now = ledger.registry.chain_time()
    if valid_until and valid_until <= max(valid_from, now):
        raise InvalidRequestError("'valid_until' must be after 'valid_from' and in the future", field="valid_until")
    signer = admin or agency_admin_signer(ledger, agency_id)  # refused here, before a key is made
    account, encrypted = ledger.vault.generate()
    # Keep the key before it is authorized (with an empty window), so a failure after the
    # chain accepted it never loses the only copy of its private key.
    ledger.store.add_key(
        address=account.address, agency_id=agency_id, encrypted_key=encrypted, valid_from=0, valid_until=0, tx_hash=None
    )
    registry = ledger.registry
    call = registry.add_issuer_key_call(agency_id, account.address, valid_from, valid_until)
    receipt = send_call(ledger, signer, registry.address, call)
    _fund(ledger, account.address)
    info = ledger.registry.issuer_key(account.address)
    return ledger.store.authorize_key(account.address, info.valid_from, info.valid_until, receipt.tx_hash)


def set_key_valid_until(
    ledger: Ledger, address: str, valid_until: int | None = None, *, admin: Signer | None = None
) -> IssuerKeyRow:
    """Retire a key now (`valid_until` None) or move the end of its window (to retire later, or extend).

    What the key anchored while it was valid stays valid. The agency's admin signs, as in
    `add_issuer_key`.
    """
    row = ledger.store.get_key(address)
    if row is None:
        raise NotFoundError(f"no issuer key {address} is kept by this service")
    signer = admin or agency_admin_signer(ledger, row.agency_id)
    send_call(ledger, signer, ledger.registry.address, ledger.registry.set_valid_until_call(address, valid_until or 0))
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


@dataclass(frozen=True, slots=True)
class Resealed:
    """How many stored keys `reseal_keys` sealed anew, and how many were current already."""

    issuer_keys: int
    admin_keys: int
    current: int


def reseal_keys(ledger: Ledger) -> Resealed:
    """Seal again, in the current form (AES-256-GCM bound to the key's address), every issuer key and
    agency admin key this installation keeps that an earlier version sealed (Fernet).

    Each key is opened and checked against its address first, and replaced only if nobody changed it
    meanwhile: running it twice, or beside a running service, is safe. Raises `ConfigurationError`
    when a key does not open under the key-encryption key (nothing after it is changed).
    """
    vault = ledger.vault
    counts = {"issuer": 0, "admin": 0, "current": 0}
    for kind, table in (("issuer", ledger.store), ("admin", ledger.agency_admins)):
        for address, sealed in table.sealed_keys():
            if not vault.sealed_the_old_way(sealed):
                counts["current"] += 1
                continue
            account = vault.decrypt(sealed, address)  # checked against its address
            if table.reseal_key(address, sealed, vault.encrypt(account)):
                counts[kind] += 1
    return Resealed(issuer_keys=counts["issuer"], admin_keys=counts["admin"], current=counts["current"])
