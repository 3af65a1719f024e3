"""A Sijill document as a W3C Verifiable Credential 2.0, before it is signed (pure).

The credential names the document type, its issuing agency, its validity (`validUntil` is the
anchored expiry), its claims, two `BitstringStatusListEntry` entries (revocation, suspension),
and the anchored document it stands for: `id` ``urn:sijill:<target hash>``, and `evidence` with
the anchor when it is known. `mandatory_pointers` names what a holder may never hide: all of that
but the claims, which are selectively disclosable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.vc.ecdsa_sd import add_base_proof
from ledger.vc.loader import CREDENTIALS_V2, UNDEFINED_TERMS_V2, ContextLoader
from ledger.vc.multikey import did_key_method

CONTEXT = [CREDENTIALS_V2, UNDEFINED_TERMS_V2]  # W3C contexts only: the claims are issuer-dependent terms
StatusPurpose = Literal["revocation", "suspension"]


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """Where a document's bit sits in one of its agency's status lists."""

    purpose: StatusPurpose
    list_url: str  # the status list credential's URL
    index: int

    def as_json(self) -> dict[str, Any]:
        """The `BitstringStatusListEntry` (indexes are strings, as the Recommendation writes them)."""
        return {
            "id": f"{self.list_url}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.purpose,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


@dataclass(frozen=True, slots=True)
class AnchorEvidence:
    """Where the document is anchored: its batch's Merkle root, the chain and registry, the transaction."""

    target_hash: str
    merkle_root: str
    chain_id: int
    registry: str
    transaction: str

    def as_json(self) -> dict[str, Any]:
        """The credential's `evidence` entry."""
        return {
            "id": f"urn:sijill:anchor:{self.merkle_root}",
            "type": ["Evidence", "SijillAnchor"],
            "targetHash": self.target_hash,
            "merkleRoot": self.merkle_root,
            "chain": f"eip155:{self.chain_id}",
            "registry": self.registry,
            "transaction": self.transaction,
        }


def type_name(document_type: str) -> str:
    """A document type id as a credential type: ``commercial-licence`` -> ``CommercialLicence``."""
    return "".join(part.capitalize() for part in re.split(r"[-_\s]+", document_type) if part)


def timestamp(moment: datetime) -> str:
    """An xsd:dateTime in UTC to the second, as the credential writes its dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_credential(
    *,
    document_type: str,
    issuer: str,
    claims: Mapping[str, Any],
    target_hash: str,
    valid_from: datetime,
    valid_until: datetime | None,
    status: Sequence[StatusEntry],
    evidence: AnchorEvidence | None = None,
) -> dict[str, Any]:
    """The unsigned credential of one document (see the module's notes)."""
    credential: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": f"urn:sijill:{target_hash.removeprefix('0x').lower()}",
        "type": ["VerifiableCredential", type_name(document_type)],
        "issuer": issuer,
        "validFrom": timestamp(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = timestamp(valid_until)
    credential["credentialSubject"] = dict(claims)
    credential["credentialStatus"] = [entry.as_json() for entry in status]
    if evidence is not None:
        credential["evidence"] = [evidence.as_json()]
    return credential


def mandatory_pointers(credential: Mapping[str, Any]) -> list[str]:
    """What a holder may never hide: who issued it, what it is, when it is valid, its status, its anchor."""
    names = ("id", "type", "issuer", "validFrom", "validUntil", "credentialStatus", "evidence")
    return [f"/{name}" for name in names if name in credential]


def sign_as_did_key(
    credential: Mapping[str, Any], key: ec.EllipticCurvePrivateKey, *, created: datetime, loader: ContextLoader
) -> dict[str, Any]:
    """`credential` with its issuer's base proof, made with `key` named as its `did:key` (the offline
    form; an agency's did:web key comes with the keys on chain), keeping `mandatory_pointers` visible.

    Raises `CredentialError` as `add_base_proof` does.
    """
    return add_base_proof(
        credential,
        key=key,
        verification_method=did_key_method(key.public_key()),
        created=timestamp(created),
        mandatory_pointers=mandatory_pointers(credential),
        loader=loader,
    )
