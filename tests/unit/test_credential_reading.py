"""What a verifier reads from a Sijill credential before the chain: its anchor, issuer, validity and key,
and the refusals, each with a reason, of what Sijill did not issue."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError
from ledger.vc.credential import AnchorEvidence, StatusEntry, document_credential, mandatory_pointers, timestamp
from ledger.vc.did import agency_did
from ledger.vc.ecdsa_sd import add_base_proof, derive_proof
from ledger.vc.loader import ContextLoader
from ledger.vc.multikey import encode_public
from ledger.vc.reading import check_proof, read_claims

LOADER = ContextLoader()
KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER = agency_did("https://sijill.example.gov.qa", "moci")
LISTS = "https://sijill.example.gov.qa/v1/status-lists/moci"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def signed(key: ec.EllipticCurvePrivateKey = KEY, method: str | None = None) -> dict[str, Any]:
    unsigned = document_credential(
        document_type="building-permit",
        issuer=ISSUER,
        claims={"permitNumber": "BP-77", "plot": {"en": "Plot 12", "ar": "قطعة 12"}},
        target_hash="ab" * 32,
        valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        valid_until=datetime(2027, 3, 1, tzinfo=UTC),
        status=[
            StatusEntry("revocation", f"{LISTS}/revocation/0", 5),
            StatusEntry("suspension", f"{LISTS}/suspension/0", 5),
        ],
        evidence=AnchorEvidence("ab" * 32, "cd" * 32, 1337, REGISTRY, "0x" + "ef" * 32),
    )
    return add_base_proof(
        unsigned,
        key=key,
        verification_method=method or f"{ISSUER}#{encode_public(key.public_key())}",
        created=timestamp(datetime(2026, 3, 1, tzinfo=UTC)),
        mandatory_pointers=mandatory_pointers(unsigned),
        loader=LOADER,
    )


def test_a_credential_names_its_anchor_agency_validity_and_key() -> None:
    claims = read_claims(signed())
    assert (claims.target_hash, claims.merkle_root) == ("ab" * 32, "cd" * 32)
    assert (claims.chain_id, claims.registry) == (1337, REGISTRY)
    assert (claims.issuer, claims.agency_id) == (ISSUER, "moci")
    assert claims.valid_from == int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    assert claims.valid_until == "2027-03-01T00:00:00Z"
    assert encode_public(claims.public_key) == encode_public(KEY.public_key())
    assert not claims.derived
    assert [entry["statusPurpose"] for entry in claims.status] == ["revocation", "suspension"]


def test_the_proof_holds_for_the_full_copy_and_a_derived_one_and_not_for_a_changed_claim() -> None:
    full = signed()
    assert check_proof(full, read_claims(full), LOADER).verified
    derived = derive_proof(full, ["/credentialSubject/permitNumber"], LOADER)
    claims = read_claims(derived)
    assert claims.derived
    assert check_proof(derived, claims, LOADER).verified
    derived["credentialSubject"]["permitNumber"] = "BP-78"
    assert not check_proof(derived, read_claims(derived), LOADER).verified


def test_a_proof_by_a_key_other_than_the_one_it_names_fails() -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = signed(key=stranger, method=f"{ISSUER}#{encode_public(KEY.public_key())}")
    assert not check_proof(forged, read_claims(forged), LOADER).verified


def _without(name: str) -> dict[str, Any]:
    credential = signed()
    del credential[name]
    return credential


def _changed(path: list[str], value: Any) -> dict[str, Any]:
    credential = copy.deepcopy(signed())
    target = credential
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return credential


@pytest.mark.parametrize(
    ("credential", "words"),
    [
        ([], "JSON object with a proof"),
        (_without("proof"), "JSON object with a proof"),
        (_changed(["proof", "cryptosuite"], "eddsa-rdfc-2022"), "Sijill signs ecdsa-sd-2023"),
        (_changed(["id"], "urn:uuid:42"), "names no anchored document"),
        (_without("evidence"), "no Sijill anchor evidence"),
        (_changed(["evidence"], [{"type": ["Evidence"]}]), "no Sijill anchor evidence"),
        (_without("issuer"), "names no issuer"),
        (_changed(["validFrom"], "March 2026"), "not an XML Schema dateTime"),
        (_changed(["proof", "verificationMethod"], "did:web:elsewhere.example#zDn"), "not one of the issuer's"),
        (_changed(["proof", "verificationMethod"], f"{ISSUER}#key-1"), "does not name its multikey"),
        (_changed(["evidence"], {"type": 5}), "no Sijill anchor evidence"),
        (_changed(["validFrom"], "9999-12-31T23:59:59-14:00"), "outside the years"),
        (_changed(["validFrom"], "0001-01-01T00:00:00+14:00"), "outside the years"),
        (_changed(["issuer"], "https://moci.gov.qa"), "neither an agency's did:web"),
        (
            _changed(["proof", "verificationMethod"], f"did:key:{encode_public(KEY.public_key())}"),
            "is not the credential's issuer",
        ),
    ],
    ids=[
        "not-an-object",
        "no-proof",
        "other-suite",
        "not-anchored",
        "no-evidence",
        "other-evidence",
        "no-issuer",
        "bad-date",
        "other-issuers-key",
        "key-not-named",
        "evidence-type-not-a-list",
        "year-10000",
        "year-0",
        "issuer-not-a-did",
        "did-key-not-the-issuer",
    ],
)
def test_what_sijill_did_not_issue_is_refused_with_a_reason(credential: Any, words: str) -> None:
    with pytest.raises(CredentialError, match=words):
        read_claims(credential)
