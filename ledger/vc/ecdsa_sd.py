"""The `ecdsa-sd-2023` Data Integrity cryptosuite (W3C, P-256): an issuer's base proof, a holder's
derived proof that discloses only chosen claims, and the checks of both.

**Base proof** (`add_base_proof`), by the issuer:

1. The document's N-Quads are canonicalised and every blank node relabelled with an HMAC (a fresh
   32-byte key) of its canonical label, then sorted again.
2. The statements the *mandatory pointers* select (what a holder may never hide) are hashed
   together; every other statement is signed alone with a fresh, proof-scoped P-256 key.
3. The issuer's key signs the proof configuration's hash, the proof-scoped public key and the
   mandatory hash. The proof value is ``u`` + base64url (no padding) of the header ``d9 5d 00``
   and the CBOR array [base signature, proof-scoped public key, HMAC key, signatures, mandatory
   pointers].

**Derived proof** (`derive_proof`), by the holder: only the statements of the mandatory and the
*selective pointers* are kept; their signatures, the map from the labels a verifier will compute
to the HMAC labels, and which of them are mandatory go into ``d9 5d 01`` + CBOR [base signature,
public key, signatures, label map, mandatory indexes]. The HMAC key stays with the holder.

**Verification** (`verify_derived_proof`, and `verify_base_proof` for a full credential) rebuilds
the statements and checks the issuer's signature and each statement's. Signatures are raw r||s
(64 bytes), made deterministically (RFC 6979), so the W3C test vectors reproduce byte for byte.
A proof that does not hold is a `ProofCheck` that says why; `CredentialError` is for what cannot
be read at all (not a credential's shape, a proof value that does not decode, an unknown context).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ledger.errors import CredentialError
from ledger.vc import rdf
from ledger.vc.loader import ContextLoader
from ledger.vc.multikey import PUBLIC_KEY_BYTES, public_key_bytes, public_key_from_bytes, public_key_of_did_key

CRYPTOSUITE = "ecdsa-sd-2023"
PROOF_TYPE = "DataIntegrityProof"
BASE_HEADER = b"\xd9\x5d\x00"
DERIVED_HEADER = b"\xd9\x5d\x01"
_ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


# --- the pieces of a proof -----------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise CredentialError("the proof value is not base64url") from error


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """An ES256 signature of `data`, raw r||s (64 bytes), deterministic (RFC 6979)."""
    r, s = decode_dss_signature(key.sign(data, _ECDSA))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signed(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """Whether `signature` (raw r||s) is `key`'s ES256 signature of `data`."""
    if not isinstance(signature, bytes) or len(signature) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def hmac_labels(key: bytes) -> rdf.LabelFactory:
    """Blank-node labels ``u`` + base64url(HMAC-SHA256(key, canonical label))."""

    def labels(canonical: rdf.LabelMap) -> rdf.LabelMap:
        return {
            label: "u" + _b64url(hmac.new(key, c14n.encode(), hashlib.sha256).digest())
            for label, c14n in canonical.items()
        }

    return labels


def given_labels(by_canonical: Mapping[str, str]) -> rdf.LabelFactory:
    """Blank-node labels from a derived proof's map canonical label -> HMAC label, which must name
    exactly the document's blank nodes, each with a label of its own (two nodes under one label
    would let one signature serve twice)."""

    def labels(canonical: rdf.LabelMap) -> rdf.LabelMap:
        if set(canonical.values()) != set(by_canonical):
            raise CredentialError("the proof's label map does not name exactly the credential's blank nodes")
        if len(set(by_canonical.values())) != len(by_canonical):
            raise CredentialError("the proof's label map gives two blank nodes one label")
        return {label: by_canonical[c14n] for label, c14n in canonical.items()}

    return labels


def proof_hash(document: Mapping[str, Any], proof: Mapping[str, Any], loader: ContextLoader) -> bytes:
    """SHA-256 of the canonical proof configuration: the proof without its value, in the document's
    @context. Raises `CredentialError` for a proof that is not this suite's."""
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(f"the proof is not a {PROOF_TYPE} of the {CRYPTOSUITE} cryptosuite")
    if not isinstance(proof.get("created"), str) or not _DATE_TIME.fullmatch(proof["created"]):
        raise CredentialError("the proof's 'created' is not a date and time (xsd:dateTime)")
    if "@context" not in document:
        raise CredentialError("the credential has no @context")
    configuration = {key: value for key, value in proof.items() if key != "proofValue"}
    configuration["@context"] = document["@context"]
    return hashlib.sha256(rdf.normalized(configuration, loader).encode()).digest()


def _mandatory_hash(statements: Sequence[str]) -> bytes:
    return hashlib.sha256("".join(statements).encode()).digest()


@dataclass(frozen=True, slots=True)
class BaseProofValue:
    """What an issuer's base proof value holds."""

    PREFIX: ClassVar[str] = "u2V0A"  # "u" + base64url of the header: how a base proof value begins

    base_signature: bytes
    public_key: bytes
    hmac_key: bytes
    signatures: list[bytes]
    mandatory_pointers: list[str]

    def encode(self) -> str:
        """The proof value: ``u`` + base64url of ``d9 5d 00`` and the CBOR array."""
        array = [self.base_signature, self.public_key, self.hmac_key, self.signatures, self.mandatory_pointers]
        return "u" + _b64url(BASE_HEADER + cbor2.dumps(array))

    @classmethod
    def decode(cls, value: Any) -> BaseProofValue:
        """Read a base proof value. Raises `CredentialError` when it is not one."""
        parts = _cbor(value, BASE_HEADER, "a base proof")
        base, public, key, signatures, pointers = parts
        if not (_bytes(base, 64) and _bytes(public, PUBLIC_KEY_BYTES) and _bytes(key, 32)):
            raise CredentialError("the base proof's signature, key or HMAC key has the wrong size")
        if not isinstance(signatures, list) or not all(_bytes(item, 64) for item in signatures):
            raise CredentialError("the base proof's signatures are not 64-byte strings")
        if not isinstance(pointers, list) or not all(isinstance(item, str) for item in pointers):
            raise CredentialError("the base proof's mandatory pointers are not strings")
        return cls(base, public, key, signatures, pointers)


@dataclass(frozen=True, slots=True)
class DerivedProofValue:
    """What a holder's derived proof value holds."""

    base_signature: bytes
    public_key: bytes
    signatures: list[bytes]
    label_map: dict[str, str]  # canonical label (c14nN) -> HMAC label (u...)
    mandatory_indexes: list[int]

    def encode(self) -> str:
        """The proof value: ``u`` + base64url of ``d9 5d 01`` and the CBOR array (label map compressed)."""
        compressed = {int(c14n.removeprefix("c14n")): _unb64url(label[1:]) for c14n, label in self.label_map.items()}
        array = [self.base_signature, self.public_key, self.signatures, compressed, self.mandatory_indexes]
        return "u" + _b64url(DERIVED_HEADER + cbor2.dumps(array, canonical=True))

    @classmethod
    def decode(cls, value: Any) -> DerivedProofValue:
        """Read a derived proof value. Raises `CredentialError` when it is not one."""
        base, public, signatures, compressed, indexes = _cbor(value, DERIVED_HEADER, "a derived proof")
        if not (_bytes(base, 64) and _bytes(public, PUBLIC_KEY_BYTES)):
            raise CredentialError("the derived proof's signature or key has the wrong size")
        if not isinstance(signatures, list) or not all(_bytes(item, 64) for item in signatures):
            raise CredentialError("the derived proof's signatures are not 64-byte strings")
        if not isinstance(compressed, dict) or not all(
            isinstance(key, int) and key >= 0 and _bytes(label, 32) for key, label in compressed.items()
        ):
            raise CredentialError("the derived proof's label map is not numbers to 32-byte labels")
        if not isinstance(indexes, list) or not all(isinstance(index, int) and index >= 0 for index in indexes):
            raise CredentialError("the derived proof's mandatory indexes are not numbers")
        labels = {f"c14n{key}": "u" + _b64url(label) for key, label in compressed.items()}
        return cls(base, public, signatures, labels, indexes)


def _bytes(value: Any, size: int) -> bool:
    return isinstance(value, bytes) and len(value) == size


def _cbor(value: Any, header: bytes, what: str) -> list[Any]:
    if not isinstance(value, str) or not value.startswith("u"):
        raise CredentialError(f"the proof value is not {what}'s (a 'u' multibase string)")
    raw = _unb64url(value[1:])
    if raw[:3] != header:
        raise CredentialError(f"the proof value is not {what}'s (header {raw[:3].hex()})")
    try:
        parts = cbor2.loads(raw[3:])
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as error:
        raise CredentialError(f"the proof value is not {what}'s (its CBOR does not read)") from error
    if not isinstance(parts, list) or len(parts) != 5:
        raise CredentialError(f"the proof value is not {what}'s (five parts expected)")
    return parts


# --- issuer ---------------------------------------------------------------------------------------------


def add_base_proof(
    document: Mapping[str, Any],
    *,
    key: ec.EllipticCurvePrivateKey,
    verification_method: str,
    created: str,
    mandatory_pointers: Sequence[str],
    loader: ContextLoader,
    hmac_key: bytes | None = None,
    proof_key: ec.EllipticCurvePrivateKey | None = None,
) -> dict[str, Any]:
    """`document` with an `ecdsa-sd-2023` base proof by `key`, named `verification_method`.

    `hmac_key` and `proof_key` are fresh random ones unless given (tests reproduce the W3C vectors).
    Raises `CredentialError` when the document is not JSON-LD its contexts define, or a pointer
    names nothing in it.
    """
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    hmac_key = hmac_key if hmac_key is not None else os.urandom(32)
    proof_key = proof_key if proof_key is not None else ec.generate_private_key(ec.SECP256R1())
    # 1. Canonical statements under HMAC labels, split into what the mandatory pointers select and the rest.
    groups, _labels, _all = rdf.group(unsecured, hmac_labels(hmac_key), {"mandatory": mandatory_pointers}, loader)
    mandatory, others = list(groups["mandatory"].matching.values()), list(groups["mandatory"].non_matching.values())
    # 2. The proof configuration and both hashes.
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    public = public_key_bytes(proof_key.public_key())
    to_sign = proof_hash(unsecured, proof, loader) + public + _mandatory_hash(mandatory)
    # 3. Each other statement signed with the proof-scoped key; the whole by the issuer's.
    value = BaseProofValue(
        base_signature=sign(key, to_sign),
        public_key=public,
        hmac_key=hmac_key,
        signatures=[sign(proof_key, statement.encode()) for statement in others],
        mandatory_pointers=list(mandatory_pointers),
    )
    return {**copy.deepcopy(unsecured), "proof": {**proof, "proofValue": value.encode()}}


# --- holder ----------------------------------------------------------------------------------------------


def derive_proof(
    credential: Mapping[str, Any], selective_pointers: Sequence[str], loader: ContextLoader
) -> dict[str, Any]:
    """The credential disclosing only what its mandatory pointers and `selective_pointers` name, with a
    derived proof; nothing else of it (values, HMAC key) is in the result.

    Raises `CredentialError` when the credential has no readable base proof, or a pointer names nothing.
    """
    if not isinstance(credential, Mapping) or not isinstance(selective_pointers, list | tuple):
        raise CredentialError("a credential (a JSON object) and a list of JSON pointers are needed")
    if not all(isinstance(pointer, str) for pointer in selective_pointers):
        raise CredentialError("the pointers of what to disclose must be strings")
    proof = credential.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("the credential has no proof to derive from")
    base = BaseProofValue.decode(proof.get("proofValue"))
    unsecured = {name: value for name, value in credential.items() if name != "proof"}
    combined = base.mandatory_pointers + list(selective_pointers)
    groups, labels, _all = rdf.group(
        unsecured,
        hmac_labels(base.hmac_key),
        {"mandatory": base.mandatory_pointers, "selective": list(selective_pointers), "combined": combined},
        loader,
    )
    mandatory, selective = groups["mandatory"].matching, groups["selective"].matching
    # Which disclosed statements are mandatory, counted among the disclosed ones.
    mandatory_indexes = [place for place, index in enumerate(groups["combined"].matching) if index in mandatory]
    # The signatures of the disclosed statements that are not mandatory (signatures follow the others' order).
    others = [index for index in range(len(_all)) if index not in mandatory]
    if len(others) != len(base.signatures):
        raise CredentialError("the base proof does not sign the credential's statements (was it changed?)")
    signatures = [signature for index, signature in zip(others, base.signatures, strict=True) if index in selective]
    revealed = rdf.select(unsecured, combined) or {"@context": unsecured["@context"]}
    if "credentialSubject" not in revealed:  # a VC 2.0 credential always has a subject
        raise CredentialError("choose at least one claim of the credential's subject to disclose")
    # The labels the verifier's canonicalisation of the revealed part gives, mapped to the HMAC labels.
    _canonical, verifier_ids = rdf.canonicalize(groups["combined"].deskolemized)
    label_map = {c14n: labels[label] for label, c14n in verifier_ids.items()}
    value = DerivedProofValue(base.base_signature, base.public_key, signatures, label_map, mandatory_indexes)
    derived_proof = {name: item for name, item in proof.items() if name != "@context"}
    return {**revealed, "proof": {**derived_proof, "proofValue": value.encode()}}


# --- verifier --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """Whether a credential's proof holds, why not when it does not, and who made it."""

    verified: bool
    reason: str
    verification_method: str | None
    statements: int  # the credential's statements the proof covers
    disclosed_only: bool  # a derived proof (a holder's selection) rather than the issuer's full one

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for a verdict's evidence."""
        return {
            "verified": self.verified,
            "reason": self.reason,
            "verification_method": self.verification_method,
            "statements": self.statements,
            "derived": self.disclosed_only,
        }


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    """The credential's `issuer` (a string, or an object's `id`)."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def verify_derived_proof(
    credential: Mapping[str, Any], loader: ContextLoader, *, issuer_key: ec.EllipticCurvePublicKey | None = None
) -> ProofCheck:
    """Check a holder's derived proof: the issuer's signature (with `issuer_key`, which the caller read
    where the issuer keeps its keys and bound to the credential's issuer; else the `did:key` the proof
    names, which must be the credential's `issuer`) over the proof configuration and the mandatory
    statements, and each disclosed statement's signature. Raises `CredentialError` only for what
    cannot be read at all."""
    proof = _proof_of(credential)
    method = proof.get("verificationMethod") if isinstance(proof.get("verificationMethod"), str) else None
    value = DerivedProofValue.decode(proof.get("proofValue"))
    unsecured = {name: item for name, item in credential.items() if name != "proof"}
    digest = proof_hash(unsecured, proof, loader)
    statements, _labels = rdf.relabel_canonical(rdf.to_nquads(unsecured, loader), given_labels(value.label_map))
    indexes = set(value.mandatory_indexes)
    if len(indexes) != len(value.mandatory_indexes) or any(index >= len(statements) for index in indexes):
        reason = "the mandatory indexes repeat or point past the statements"
        return ProofCheck(False, reason, method, len(statements), True)
    mandatory = [line for index, line in enumerate(statements) if index in indexes]
    others = [line for index, line in enumerate(statements) if index not in indexes]
    key = _issuer_key(unsecured, proof, issuer_key)
    return _checked(
        value.base_signature, value.public_key, value.signatures, digest, mandatory, others, proof, key, True
    )


def _proof_of(credential: Any) -> dict[str, Any]:
    if not isinstance(credential, Mapping):
        raise CredentialError("the credential is not a JSON object")
    if "credentialSubject" not in credential or "issuer" not in credential:
        raise CredentialError("a verifiable credential names its issuer and its subject (credentialSubject)")
    proof = credential.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("the credential has no proof")
    return proof


def _issuer_key(
    credential: Mapping[str, Any], proof: Mapping[str, Any], issuer_key: ec.EllipticCurvePublicKey | None
) -> ec.EllipticCurvePublicKey | str:
    """The key to check the issuer's signature with: `issuer_key` (the caller read it where the issuer
    keeps its keys), else the `did:key` the proof names, which must be the credential's issuer. A
    string says why there is none."""
    if issuer_key is not None:
        return issuer_key
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method.startswith("did:key:"):
        return f"the proof's verification method {method!r} is not a did:key; its issuer's key must be looked up"
    if method.partition("#")[0] != issuer_id(credential):
        return f"the proof's key {method.partition('#')[0]} is not the credential's issuer {issuer_id(credential)!r}"
    return public_key_of_did_key(method)


def verify_base_proof(
    credential: Mapping[str, Any], loader: ContextLoader, *, issuer_key: ec.EllipticCurvePublicKey | None = None
) -> ProofCheck:
    """Check an issuer's full base proof (the holder's own copy): every statement, as `verify_derived_proof`
    does for a selection. Raises `CredentialError` only for what cannot be read at all."""
    proof = _proof_of(credential)
    value = BaseProofValue.decode(proof.get("proofValue"))
    unsecured = {name: item for name, item in credential.items() if name != "proof"}
    digest = proof_hash(unsecured, proof, loader)
    groups, _labels, _all = rdf.group(
        unsecured, hmac_labels(value.hmac_key), {"mandatory": value.mandatory_pointers}, loader
    )
    mandatory, others = list(groups["mandatory"].matching.values()), list(groups["mandatory"].non_matching.values())
    key = _issuer_key(unsecured, proof, issuer_key)
    return _checked(
        value.base_signature, value.public_key, value.signatures, digest, mandatory, others, proof, key, False
    )


def _checked(
    base_signature: bytes,
    public_key: bytes,
    signatures: Sequence[bytes],
    digest: bytes,
    mandatory: Sequence[str],
    others: Sequence[str],
    proof: Mapping[str, Any],
    issuer_key: ec.EllipticCurvePublicKey | str,
    derived: bool,
) -> ProofCheck:
    method = proof.get("verificationMethod") if isinstance(proof.get("verificationMethod"), str) else None
    count = len(mandatory) + len(others)

    def failed(reason: str) -> ProofCheck:
        return ProofCheck(False, reason, method, count, derived)

    if proof.get("proofPurpose") != "assertionMethod":
        return failed(f"the proof's purpose is {proof.get('proofPurpose')!r}, not assertionMethod")
    if isinstance(issuer_key, str):
        return failed(issuer_key)
    if len(set(others)) != len(others) or len(set(mandatory)) != len(mandatory):
        return failed("the credential states one thing twice")
    if len(signatures) != len(others):
        return failed(f"the proof signs {len(signatures)} statements one by one; the credential has {len(others)}")
    if not signed(issuer_key, base_signature, digest + public_key + _mandatory_hash(mandatory)):
        return failed("the issuer's signature does not cover this proof configuration and these mandatory statements")
    proof_key = public_key_from_bytes(public_key)
    for number, (signature, statement) in enumerate(zip(signatures, others, strict=True), start=1):
        if not signed(proof_key, signature, statement.encode()):
            return failed(f"statement {number} of those disclosed one by one is not the one signed")
    return ProofCheck(True, "every statement is the issuer's", method, count, derived)
