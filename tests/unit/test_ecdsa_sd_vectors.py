"""`ecdsa-sd-2023` against the W3C test vectors (`tests/vectors/vc-di-ecdsa`), byte for byte, and the
proofs' refusals of what a holder or a forger changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import CredentialError
from ledger.vc import rdf
from ledger.vc.ecdsa_sd import (
    DerivedProofValue,
    add_base_proof,
    derive_proof,
    hmac_labels,
    verify_base_proof,
    verify_derived_proof,
)
from ledger.vc.loader import ContextLoader
from ledger.vc.multikey import decode_public, decode_secret, encode_public, encode_secret

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "vc-di-ecdsa"
CITIZENSHIP = "https://w3id.org/citizenship/v4rc1"
LOADER = ContextLoader({CITIZENSHIP: json.loads((VECTORS / "citizenship-v4rc1.jsonld").read_text())})
SCENARIOS = {
    "employ": ("employMandatory.json", "employSelective.json"),
    "prc": ("prCredMandatory.json", "prCredSelective.json"),
}


def vector(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


KEYS = vector("SDKeyMaterial.json")
HMAC_KEY = bytes.fromhex(KEYS["hmacKeyString"])
# The vectors' issuer is another did:key than the one that signs: their key is given, as Sijill reads an
# agency's key where the agency keeps it (a did:key proof alone must name the credential's issuer).
ISSUER_KEY = decode_public(KEYS["baseKeyPair"]["publicKeyMultibase"])


def unsigned(case: str) -> dict[str, Any]:
    signed = vector(f"{case}/addSignedSDBase.json")
    return {name: value for name, value in signed.items() if name != "proof"}


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_the_base_proof_is_the_vectors_byte_for_byte(case: str) -> None:
    mandatory, _selective = SCENARIOS[case]
    config = vector(f"{case}/addProofConfig.json")
    signed = add_base_proof(
        unsigned(case),
        key=decode_secret(KEYS["baseKeyPair"]["secretKeyMultibase"]),
        verification_method=config["verificationMethod"],
        created=config["created"],
        mandatory_pointers=vector(mandatory),
        loader=LOADER,
        hmac_key=HMAC_KEY,
        proof_key=decode_secret(KEYS["proofKeyPair"]["secretKeyMultibase"]),
    )
    assert signed == vector(f"{case}/addSignedSDBase.json")


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_the_hmac_relabelled_statements_and_their_groups_are_the_vectors(case: str) -> None:
    mandatory, _selective = SCENARIOS[case]
    statements, _labels = rdf.relabel_canonical(rdf.to_nquads(unsigned(case), LOADER), hmac_labels(HMAC_KEY))
    assert statements == vector(f"{case}/addBaseDocHMACCanon.json")
    groups, _labels, _all = rdf.group(unsigned(case), hmac_labels(HMAC_KEY), {"mandatory": vector(mandatory)}, LOADER)
    transform = vector(f"{case}/addBaseTransform.json")
    assert [[index, line] for index, line in groups["mandatory"].matching.items()] == transform["mandatory"]["value"]
    assert [[index, line] for index, line in groups["mandatory"].non_matching.items()] == transform["nonMandatory"][
        "value"
    ]


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_the_derived_proof_is_the_vectors_byte_for_byte_and_verifies(case: str) -> None:
    _mandatory, selective = SCENARIOS[case]
    derived = derive_proof(vector(f"{case}/addSignedSDBase.json"), vector(selective), LOADER)
    assert derived == vector(f"{case}/derivedRevealDocument.json")
    check = verify_derived_proof(derived, LOADER, issuer_key=ISSUER_KEY)
    assert check.verified, check.reason
    assert check.disclosed_only


@pytest.mark.parametrize("case", sorted(SCENARIOS))
def test_the_issuers_full_credential_verifies_and_names_its_key(case: str) -> None:
    check = verify_base_proof(vector(f"{case}/addSignedSDBase.json"), LOADER, issuer_key=ISSUER_KEY)
    assert check.verified, check.reason
    assert check.verification_method == vector(f"{case}/addProofConfig.json")["verificationMethod"]


def test_a_derived_proof_holds_nothing_of_what_was_hidden() -> None:
    derived = derive_proof(vector("employ/addSignedSDBase.json"), ["/credentialSubject/birthCountry"], LOADER)
    text = json.dumps(derived)
    for hidden in ("JOHN", "JACOB", "SMITH", "83627465", "1999-07-17"):
        assert hidden not in text
    assert derived["credentialSubject"]["birthCountry"] == "Bahamas"
    assert "hmac" not in text.lower()
    value = DerivedProofValue.decode(derived["proof"]["proofValue"])
    check = verify_derived_proof(derived, LOADER, issuer_key=ISSUER_KEY)
    assert check.verified, check.reason
    assert len(value.signatures) == check.statements - len(value.mandatory_indexes)  # one a disclosed statement


def test_the_issuers_key_round_trips_as_a_multikey() -> None:
    secret = decode_secret(KEYS["baseKeyPair"]["secretKeyMultibase"])
    assert encode_secret(secret) == KEYS["baseKeyPair"]["secretKeyMultibase"]
    assert encode_public(secret.public_key()) == KEYS["baseKeyPair"]["publicKeyMultibase"]
    assert (
        encode_public(decode_public(KEYS["baseKeyPair"]["publicKeyMultibase"]))
        == KEYS["baseKeyPair"]["publicKeyMultibase"]
    )


DERIVED = vector("employ/derivedRevealDocument.json")


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("credentialSubject", "birthCountry"), "Atlantis"),  # a disclosed claim
        (("validFrom",), "2019-12-04T00:00:00Z"),  # a disclosed claim (one day later)
        (("issuer", "id"), "did:key:zDnaegE6RR3atJtHKwTRTWHsJ3kNHqFwv7n9YjTgmU7TyfU77"),  # mandatory
        (("proof", "created"), "2024-01-01T00:00:00Z"),  # the proof's configuration
    ],
)
def test_a_changed_value_is_refused(where: tuple[str, ...], value: str) -> None:
    forged = copy.deepcopy(DERIVED)
    target = forged
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    try:
        check = verify_derived_proof(forged, LOADER, issuer_key=ISSUER_KEY)
    except CredentialError:
        return  # refused before any signature was checked (a key that is no key)
    assert not check.verified
    assert check.reason


def test_a_did_key_proof_of_another_key_than_the_issuers_is_refused() -> None:
    """Mallory signs with her own did:key and names the government as issuer: no key read for the issuer
    was given, so the proof's key must be the issuer's, and it is not."""
    check = verify_derived_proof(DERIVED, LOADER)
    assert not check.verified
    assert "is not the credential's issuer" in check.reason


def test_a_removed_claim_is_refused() -> None:
    forged = copy.deepcopy(DERIVED)
    del forged["credentialSubject"]["birthCountry"]
    assert not verify_derived_proof(forged, LOADER, issuer_key=ISSUER_KEY).verified


def test_a_property_no_context_defines_is_refused_not_dropped() -> None:
    forged = copy.deepcopy(DERIVED)
    forged["credentialSubject"]["smuggled"] = "unsigned"
    with pytest.raises(CredentialError, match="not defined by its @context"):
        verify_derived_proof(forged, LOADER)


def test_a_context_sijill_does_not_bundle_is_never_fetched() -> None:
    with pytest.raises(CredentialError, match="never fetched"):
        verify_derived_proof(DERIVED, ContextLoader())


@given(st.binary(min_size=1, max_size=200))
def test_whatever_a_proof_value_holds_is_a_verdict_or_a_clear_refusal(junk: bytes) -> None:
    import base64

    forged = copy.deepcopy(DERIVED)
    forged["proof"]["proofValue"] = "u" + base64.urlsafe_b64encode(b"\xd9\x5d\x01" + junk).rstrip(b"=").decode()
    try:
        check = verify_derived_proof(forged, LOADER, issuer_key=ISSUER_KEY)
    except CredentialError:
        return
    assert not check.verified
