"""Agencies' credential keys, their DID documents, and each document's signed Verifiable Credential.

An agency's P-256 credential keys are registered on chain (their keccak256, agency and validity
window); this installation keeps their private halves sealed like the issuer keys. A document's
credential is signed once, when it is first asked for after its anchor landed, with the agency's
key valid at that moment, and kept; its status entries point at the agency's status lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.chain.signer import Signer
from ledger.documents.keccak import keccak256
from ledger.documents.salt import unsalt_data
from ledger.domain import HexHash
from ledger.errors import ConflictError, NoActiveKeyError, NotFoundError, SijillError
from ledger.store.models import CredentialKeyRow, CredentialRow
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import agency_admin_signer, require_agency
from ledger.usecases.context import Ledger
from ledger.usecases.sending import send_call
from ledger.usecases.sharing import erased_error, own_document
from ledger.vc.credential import AnchorEvidence, StatusEntry, document_credential, mandatory_pointers, timestamp
from ledger.vc.did import agency_did, did_document
from ledger.vc.ecdsa_sd import add_base_proof, derive_proof
from ledger.vc.multikey import compressed_point, decode_public, encode_public
from ledger.vc.status_list import MIN_ENTRIES


def key_id_of(key: ec.EllipticCurvePublicKey) -> HexHash:
    """How the registry names a credential key: keccak256 of its compressed point, ``0x`` hex."""
    return HexHash("0x" + keccak256(compressed_point(key)).hex())


def add_credential_key(
    ledger: Ledger, agency_id: str, *, valid_from: int = 0, valid_until: int = 0, admin: Signer | None = None
) -> CredentialKeyRow:
    """Make a P-256 credential key for an agency, register it on chain and keep it sealed.

    `valid_from` 0 means now, `valid_until` 0 no end. The agency's admin signs, as for issuer keys.
    Raises `AgencyNotFoundError`, `PermissionDeniedError` (the agency holds its own admin key),
    `InvalidRequestError` for an empty window, and the chain's errors.
    """
    require_agency(ledger, agency_id)
    signer = admin or agency_admin_signer(ledger, agency_id)  # refused here, before a key is made
    private = ec.generate_private_key(ec.SECP256R1())
    key_id = key_id_of(private.public_key())
    secret = private.private_numbers().private_value.to_bytes(32, "big")
    # Kept before the chain hears of it (with an empty window), so its private half is never lost.
    row = ledger.credentials.add_key(
        CredentialKeyRow(
            key_id=key_id,
            agency_id=agency_id,
            public_key=encode_public(private.public_key()),
            encrypted_key=ledger.vault.seal(secret, key_id),
            valid_from=0,
            valid_until=0,
        )
    )
    call = ledger.registry.add_credential_key_call(
        agency_id, compressed_point(private.public_key()), valid_from, valid_until
    )
    receipt = send_call(ledger, signer, ledger.registry.address, call)
    info = ledger.registry.credential_key(key_id)
    ledger.credentials.set_window(key_id, info.valid_from, info.valid_until, receipt.tx_hash)
    row.valid_from, row.valid_until, row.tx_hash = info.valid_from, info.valid_until, receipt.tx_hash
    return row


def set_credential_key_valid_until(
    ledger: Ledger, key_id: str, valid_until: int | None = None, *, admin: Signer | None = None
) -> CredentialKeyRow:
    """Retire a credential key now (`valid_until` None) or move the end of its window.

    Credentials it signed while valid stay valid. Raises `NotFoundError` for a key not kept here.
    """
    row = ledger.credentials.get_key(key_id)
    if row is None:
        raise NotFoundError(f"no credential key {key_id} is kept by this service")
    signer = admin or agency_admin_signer(ledger, row.agency_id)
    call = ledger.registry.set_credential_key_valid_until_call(HexHash(key_id), valid_until or 0)
    send_call(ledger, signer, ledger.registry.address, call)
    info = ledger.registry.credential_key(HexHash(key_id))
    ledger.credentials.set_window(key_id, info.valid_from, info.valid_until)
    row.valid_until = info.valid_until
    return row


def agency_did_document(ledger: Ledger, agency_id: str) -> dict[str, Any]:
    """The DID document of an agency's `did:web`: its credential keys the chain says are valid now.

    Raises `AgencyNotFoundError`.
    """
    require_agency(ledger, agency_id)
    now = ledger.registry.chain_time()
    keys = [
        decode_public(row.public_key)
        for row in ledger.credentials.keys_of(agency_id)
        if ledger.registry.credential_key(HexHash(row.key_id)).valid_at(now)
    ]
    return did_document(agency_did(ledger.settings.public_base_url, agency_id), keys)


def status_list_url(ledger: Ledger, agency_id: str, purpose: str, number: int) -> str:
    """Where an agency's status list `number` for `purpose` is published."""
    return f"{ledger.settings.public_base_url.rstrip('/')}/v1/status-lists/{agency_id}/{purpose}/{number}"


def signing_key(ledger: Ledger, agency_id: str, now: int) -> tuple[CredentialKeyRow, ec.EllipticCurvePrivateKey]:
    """The agency's newest credential key valid at `now`, as the chain says, and its private half."""
    for row in ledger.credentials.keys_of(agency_id):
        if row.valid_from <= now < row.valid_until and ledger.registry.credential_key(HexHash(row.key_id)).valid_at(
            now
        ):
            secret = ledger.vault.unseal(row.encrypted_key, row.key_id)
            return row, ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    raise NoActiveKeyError(
        f"agency '{agency_id}' has no credential key valid now; its admin adds one with "
        f"POST /v1/admin/agencies/{agency_id}/credential-keys or `sijill key add-credential {agency_id}`"
    )


def sign_credential(
    ledger: Ledger,
    unsigned: Mapping[str, Any],
    agency_id: str,
    now: int,
    pointers: list[str] | None = None,
    *,
    key: tuple[CredentialKeyRow, ec.EllipticCurvePrivateKey] | None = None,
) -> tuple[CredentialKeyRow, dict[str, Any]]:
    """`unsigned` with an `ecdsa-sd-2023` base proof by the agency's credential key valid at `now` (or
    `key`, already chosen), keeping `pointers` (by default the credential's mandatory ones) visible.

    Raises `NoActiveKeyError` when the agency has no credential key valid at `now`.
    """
    row, private = key or signing_key(ledger, agency_id, now)
    issuer = agency_did(ledger.settings.public_base_url, agency_id)
    signed = add_base_proof(
        unsigned,
        key=private,
        verification_method=f"{issuer}#{row.public_key}",
        created=timestamp(datetime.fromtimestamp(now, UTC)),
        mandatory_pointers=pointers if pointers is not None else mandatory_pointers(unsigned),
        loader=ledger.contexts,
    )
    return row, signed


def credential_of(ledger: Ledger, actor: Actor, target_hash: str) -> CredentialRow:
    """The signed credential of an issued document, for the agency that issued it (or the admin):
    signed now, with a status index of its own, if it has none yet.

    Raises `PermissionDeniedError`, `DocumentNotFoundError`, `ConflictError` while its anchor is not
    mined, `GoneError` once the service's copy was erased, `CredentialError` when its claims cannot
    be a credential, and `NoActiveKeyError` when the agency has no credential key valid now.
    """
    batch, document = own_document(ledger, actor, target_hash)
    kept = ledger.credentials.get(target_hash)
    if kept is not None and kept.credential is not None:
        return kept
    if kept is not None or not document.wrapped:
        raise erased_error(target_hash)
    if not batch.tx_hash:
        raise ConflictError(f"{target_hash}'s anchoring transaction is not known yet; ask again shortly")
    data = unsalt_data(document.wrapped["data"])
    claims = data.get("subject", {}) if isinstance(data, dict) else {}
    agency_id, now = batch.agency_id, ledger.registry.chain_time()
    evidence = AnchorEvidence(
        target_hash=target_hash,
        merkle_root=batch.root,
        chain_id=ledger.network.chain_id,
        registry=ledger.network.registry,
        transaction=batch.tx_hash,
    )

    def sign(index: int) -> dict[str, Any]:
        number, offset = divmod(index, MIN_ENTRIES)
        unsigned = document_credential(
            document_type=document.document_type,
            issuer=agency_did(ledger.settings.public_base_url, agency_id),
            claims=claims,
            target_hash=target_hash,
            valid_from=datetime.fromtimestamp(now, UTC),
            valid_until=datetime.fromtimestamp(batch.expires_at, UTC) if batch.expires_at else None,
            status=[
                StatusEntry(purpose, status_list_url(ledger, agency_id, purpose, number), offset)
                for purpose in ("revocation", "suspension")
            ],
            evidence=evidence,
        )
        return sign_credential(ledger, unsigned, agency_id, now, key=key)[1]

    key = signing_key(ledger, agency_id, now)  # refused before an index is taken
    return ledger.credentials.add(
        target_hash=target_hash, agency_id=agency_id, batch_root=batch.root, key_id=key[0].key_id, sign=sign
    )


def require_credential_key(ledger: Ledger, agency_id: str) -> None:
    """Check, before issuing with credentials, that the agency has a credential key valid now.

    Raises `NoActiveKeyError` (with how to add one).
    """
    signing_key(ledger, agency_id, ledger.registry.chain_time())


Signed = tuple[dict[str, Any] | None, str | None]  # a credential, or why it could not be signed


def credentials_of(ledger: Ledger, actor: Actor, targets: Sequence[str]) -> list[Signed]:
    """Each issued document's credential, or why it could not be signed: the documents stay issued either
    way, and a credential refused now can be asked for again (`credential_of`)."""
    signed: list[Signed] = []
    for target in targets:
        try:
            signed.append((credential_of(ledger, actor, target).credential, None))
        except SijillError as error:
            signed.append((None, error.message))
    return signed


def derive_credential(ledger: Ledger, credential: Mapping[str, Any], disclose: list[str]) -> dict[str, Any]:
    """The holder's `credential` disclosing only the claims `disclose` points at (JSON pointers) besides
    what is always shown; the hidden values, and the HMAC key that would reveal them, are not in it.

    Needs no key and no chain: the holder's full copy carries all it takes. Raises `CredentialError`
    for a credential without a base proof, or a pointer that names nothing in it.
    """
    return derive_proof(credential, disclose, ledger.contexts)
