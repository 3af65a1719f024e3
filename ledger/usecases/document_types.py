"""Registering document types as data: an agency's own, or shared ones for the council.

A version is kept in the store before it is sent (so no definition is ever lost), registered on chain by
the agency's admin (or by the council, for a shared type), then confirmed with its registration time. The
catalog of every process picks it up from the store (`Ledger.catalog`).
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from ledger.documents.definitions import TypeDefinition, parse_definition, validate_type_id
from ledger.documents.types import DocumentTypeCatalog
from ledger.domain import HexHash, TxReceipt, TypeRegistration
from ledger.errors import (
    ChainUnavailableError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ProposalPendingError,
)
from ledger.store.models import DocumentTypeRow
from ledger.usecases.agencies import agency_admin_signer, require_agency
from ledger.usecases.context import Ledger
from ledger.usecases.council import enact
from ledger.usecases.sending import send_call

STALE_REGISTRATION = timedelta(minutes=10)
"""How long a version kept but not yet on chain blocks another definition for the same version."""


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    """One version of a type: its definition and the registry's record of it (None: the chain could not be
    asked; ``registered`` is then unknown, not false)."""

    definition: TypeDefinition
    registration: TypeRegistration | None
    tx_hash: str | None
    shipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The version as the API shows it: the definition, its hash, and where the registry holds it."""
        record = self.registration
        return {
            "id": self.definition.id,
            "version": self.definition.version,
            "owner": self.definition.owner,
            "title": self.definition.title,
            "title_ar": self.definition.title_ar,
            "definition_hash": self.definition.hash,
            "definition": self.definition.as_dict(),
            "registered": None if record is None else record.definition_hash == self.definition.hash,
            "registered_at": record.registered_at if record is not None else None,
            "transaction": self.tx_hash,
            "shipped": self.shipped,
        }


def register_document_type(
    ledger: Ledger, raw: Any, *, owner: str | None
) -> tuple[RegisteredVersion, TxReceipt | None]:
    """Register the definition `raw` (``id``, ``schema``, ``neverHidden``, ``layout``) as the next version of
    its type, for agency `owner`, or shared (the council) when None. The same definition as the type's
    latest version is that version (no receipt): a retry never makes a version with nothing new.

    Steps: 1. validate the definition; 2. find the next version on chain (a type keeps its owner);
    3. keep it in the store; 4. register its hash (the agency's admin signs, or the council enacts it);
    5. confirm it with the registry's time.

    Raises `InvalidRequestError` (422) for a definition that is not one (a schema that is not a JSON Schema,
    a field without bilingual titles, ...); `ConflictError` (409) when the id belongs to another owner or
    is a type Sijill ships; `AgencyNotFoundError`; `PermissionDeniedError` when the agency holds its own
    admin key; `ProposalPendingError` when the council must still approve a shared type; chain errors.
    """
    # 1. The definition must be one before anything is asked of the chain.
    type_id = validate_type_id(raw.get("id") if isinstance(raw, dict) else None)
    if owner is not None:
        require_agency(ledger, owner)
    _, shipped = ledger.shipped_types
    if any(kind.id == type_id for kind in shipped):
        raise ConflictError(f"'{type_id}' is a type Sijill ships: register yours under another id")
    parse_definition(raw, owner=owner, version=1, shared=ledger.catalog.shared)

    # 2. The next version, as the registry counts them; the type's owner never changes.
    _confirm_pending(ledger)  # a version an earlier attempt left unconfirmed is the latest
    head = ledger.registry.document_type(type_id, 0)
    if head.versions and head.owner != owner:
        whose = f"agency '{head.owner}'" if head.owner else "the council (a shared type)"
        raise ConflictError(f"document type '{type_id}' belongs to {whose}: choose another id")
    if head.versions:
        latest = parse_definition(raw, owner=owner, version=head.versions, shared=ledger.catalog.shared)
        same = ledger.document_types.get(type_id, head.versions)
        if same is not None and same.registered_at and same.definition_hash == latest.hash:
            return _version(ledger, latest), None
    version = head.versions + 1
    definition = parse_definition(raw, owner=owner, version=version, shared=ledger.catalog.shared)
    _check_compiles(ledger, definition)

    # 3. Kept before it is sent: a crash after the chain took it never loses the definition.
    kept = ledger.document_types.get(type_id, version)
    if kept is not None and kept.definition_hash != definition.hash:
        if ledger.clock() - kept.created_at < STALE_REGISTRATION:
            raise ConflictError(
                f"version {version} of '{type_id}' is being registered with another definition; try again in "
                f"{int(STALE_REGISTRATION.total_seconds() // 60)} minutes if that registration failed"
            )
        ledger.document_types.discard(type_id, version)  # the chain never took it: an attempt that failed
        kept = None
    if kept is None:
        ledger.document_types.add(
            DocumentTypeRow(
                type_id=type_id,
                version=version,
                owner=owner,
                definition=definition.as_dict(),
                definition_hash=definition.hash,
                tx_hash="",
                registered_at=0,
            )
        )

    # 4. The registry records its hash.
    try:
        receipt = _send(ledger, definition)
    except (InvalidRequestError, ConflictError) as error:
        if not isinstance(error, ProposalPendingError):  # refused: nothing was registered
            ledger.document_types.discard(type_id, version)
        raise
    # 5. Confirmed with the registry's own time.
    registration = ledger.registry.document_type(type_id, version)
    ledger.document_types.confirm(type_id, version, tx_hash=receipt.tx_hash, registered_at=registration.registered_at)
    ledger.reload_catalog()
    return RegisteredVersion(definition, registration, receipt.tx_hash), receipt


def _check_compiles(ledger: Ledger, definition: TypeDefinition) -> None:
    """Both validators build from the schema (a pattern either cannot read is refused now, not at issuing).
    Raises `InvalidRequestError`."""
    catalog = DocumentTypeCatalog(definitions=[definition], shared=ledger.catalog.shared)
    try:
        reference, _fast = catalog.checkers(catalog.get(definition.id))
        next(iter(reference.iter_errors({})), None)
    except (ValueError, TypeError, LookupError, re.error, SchemaError, Unresolvable) as error:
        raise InvalidRequestError(f"the schema cannot be used to check documents: {error}", field="schema") from None


def _send(ledger: Ledger, definition: TypeDefinition) -> TxReceipt:
    hash_hex = HexHash(definition.hash)
    if definition.owner is None:
        arguments = {"type_id": definition.id, "version": definition.version, "definition_hash": hash_hex}
        return enact(ledger, "register-type", arguments)
    signer = agency_admin_signer(ledger, definition.owner)
    call = ledger.registry.register_type_call(definition.id, definition.version, definition.owner, hash_hex)
    return send_call(ledger, signer, ledger.registry.address, call)


def list_document_types(ledger: Ledger) -> list[RegisteredVersion]:
    """The latest version of every type this installation issues (those Sijill ships and those registered
    through it), each with the registry's record (None while the chain cannot be asked: the types, their
    schemas and labels are still given). Confirms versions a crash left unconfirmed."""
    with suppress(ChainUnavailableError):
        _confirm_pending(ledger)
    catalog = ledger.catalog
    return [_version(ledger, catalog.get(name).definition) for name in catalog.names]


def document_type_versions(ledger: Ledger, type_id: str) -> list[RegisteredVersion]:
    """Every version of `type_id`, oldest first, each with the registry's record. Raises `NotFoundError`."""
    _confirm_pending(ledger)
    catalog = ledger.catalog
    if type_id not in catalog.names:
        raise NotFoundError(f"no document type '{type_id}'; GET /v1/document-types lists them")
    return [_version(ledger, kind.definition) for kind in catalog.versions(type_id)]


def _version(ledger: Ledger, definition: TypeDefinition) -> RegisteredVersion:
    row = ledger.document_types.get(definition.id, definition.version)
    try:
        registration: TypeRegistration | None = ledger.registry.document_type(definition.id, definition.version)
    except ChainUnavailableError:
        registration = None
    return RegisteredVersion(
        definition=definition,
        registration=registration,
        tx_hash=row.tx_hash if row is not None and row.tx_hash else None,
        shipped=row is None,
    )


def _confirm_pending(ledger: Ledger) -> None:
    """Confirm every kept version the registry holds but the store does not know it does (a crash between
    the two), so that the catalog offers it."""
    for row in ledger.document_types.all():
        if row.registered_at:
            continue
        registration = ledger.registry.document_type(row.type_id, row.version)
        if registration.definition_hash == row.definition_hash:
            ledger.document_types.confirm(
                row.type_id, row.version, tx_hash="", registered_at=registration.registered_at
            )
            ledger.reload_catalog()
