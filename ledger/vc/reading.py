"""What a verifier reads from a Sijill credential before it asks the chain (pure).

The anchor it stands for (``urn:sijill:<target hash>`` and its evidence), the agency its `did:web`
issuer names, its validity, and the P-256 key its proof names. A `did:web` proof names its key in
the method's fragment (``did:web:...#<multikey>``), so the key is read without resolving the DID
document: the chain, not the document, then says whose key it is and when it was valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError
from ledger.vc.ecdsa_sd import (
    BaseProofValue,
    ProofCheck,
    issuer_id,
    verify_base_proof,
    verify_derived_proof,
)
from ledger.vc.loader import ContextLoader
from ledger.vc.multikey import decode_public, public_key_of_did_key

_TARGET = re.compile(r"urn:sijill:([0-9a-f]{64})")
_HASH = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_AGENCY_DID = re.compile(r"did:web:[^#]+:agencies:([a-z0-9][a-z0-9-]{0,30})")
_CHAIN = re.compile(r"eip155:([0-9]{1,18})")
_LATEST = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp())


@dataclass(frozen=True, slots=True)
class CredentialClaims:
    """The parts of a Sijill credential a verdict rests on."""

    target_hash: str
    merkle_root: str
    chain_id: int | None
    registry: str | None
    issuer: str
    agency_id: str | None  # from a did:web issuer; a did:key issuer's agency is the chain's to say
    valid_from: int
    valid_until: str | None
    verification_method: str
    public_key: ec.EllipticCurvePublicKey
    derived: bool
    status: list[dict[str, Any]]


def _time(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise CredentialError(f"the credential's {name} is not a date and time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    except ValueError:
        raise CredentialError(f"the credential's {name} {value!r} is not an XML Schema dateTime") from None
    if not 0 <= moment < _LATEST:
        raise CredentialError(f"the credential's {name} {value!r} is outside the years 1970 to 9998")
    return moment


def _anchor_evidence(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    evidence = credential.get("evidence")
    items = evidence if isinstance(evidence, list) else [evidence]
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("type"), list) and "SijillAnchor" in item["type"]:
            return item
    raise CredentialError("the credential carries no Sijill anchor evidence (it was not issued by Sijill)")


def _key_of(method: Any, issuer: str) -> ec.EllipticCurvePublicKey:
    """The key a proof's verification method names: a did:key, or the multikey fragment of the issuer's did:web."""
    if not isinstance(method, str):
        raise CredentialError("the proof names no verification method")
    if method.startswith("did:key:"):
        if method.partition("#")[0] != issuer:
            raise CredentialError(f"the proof's key {method!r} is not the credential's issuer ({issuer})")
        return public_key_of_did_key(method)
    did, _, fragment = method.partition("#")
    if did != issuer:
        raise CredentialError(f"the proof's key {method!r} is not one of the issuer's ({issuer})")
    if not fragment.startswith("z"):
        raise CredentialError(f"the proof's key {method!r} does not name its multikey after '#'")
    return decode_public(fragment)


def read_claims(credential: Any) -> CredentialClaims:
    """The anchor, issuer, validity and key of a Sijill credential.

    Raises `CredentialError` when it is not a credential at all, or not one Sijill issued.
    """
    if not isinstance(credential, Mapping) or not isinstance(credential.get("proof"), Mapping):
        raise CredentialError("a verifiable credential is a JSON object with a proof")
    proof = credential["proof"]
    if proof.get("cryptosuite") != "ecdsa-sd-2023":
        raise CredentialError(f"the proof's cryptosuite is {proof.get('cryptosuite')!r}; Sijill signs ecdsa-sd-2023")
    match = _TARGET.fullmatch(str(credential.get("id", "")))
    if match is None:
        raise CredentialError("the credential's id is not urn:sijill:<target hash>: it names no anchored document")
    anchor = _anchor_evidence(credential)
    root, chain = str(anchor.get("merkleRoot", "")), _CHAIN.fullmatch(str(anchor.get("chain", "")))
    if not _HASH.fullmatch(root):
        raise CredentialError("the credential's anchor evidence has no Merkle root")
    issuer = issuer_id(credential)
    if issuer is None:
        raise CredentialError("the credential names no issuer")
    agency = _AGENCY_DID.fullmatch(issuer)
    if agency is None and not issuer.startswith("did:key:"):
        raise CredentialError(f"the issuer {issuer!r} is neither an agency's did:web (…:agencies:<id>) nor a did:key")
    status = credential.get("credentialStatus")
    proof_value = proof.get("proofValue")
    return CredentialClaims(
        target_hash=match.group(1),
        merkle_root=root.removeprefix("0x").lower(),
        chain_id=int(chain.group(1)) if chain else None,
        registry=anchor.get("registry") if isinstance(anchor.get("registry"), str) else None,
        issuer=issuer,
        agency_id=agency.group(1) if agency else None,
        valid_from=_time(credential.get("validFrom"), "validFrom"),
        valid_until=credential.get("validUntil") if isinstance(credential.get("validUntil"), str) else None,
        verification_method=str(proof.get("verificationMethod")),
        public_key=_key_of(proof.get("verificationMethod"), issuer),
        derived=not (isinstance(proof_value, str) and proof_value.startswith(BaseProofValue.PREFIX)),
        status=[item for item in (status if isinstance(status, list) else [status]) if isinstance(item, dict)],
    )


def check_proof(credential: Mapping[str, Any], claims: CredentialClaims, loader: ContextLoader) -> ProofCheck:
    """Whether the credential's proof holds under the key its claims name (a holder's derived copy, or
    the issuer's full one). Raises `CredentialError` only for a proof that cannot be read at all."""
    verify = verify_derived_proof if claims.derived else verify_base_proof
    return verify(credential, loader, issuer_key=claims.public_key)
