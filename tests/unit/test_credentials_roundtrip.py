"""A credential as Sijill would issue one (the VC 2.0 context alone): signed, a holder's selection derived,
verified; whatever the claims hold, a hidden claim never appears in the derived credential."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.vc.ecdsa_sd import add_base_proof, derive_proof, verify_base_proof, verify_derived_proof
from ledger.vc.loader import CREDENTIALS_V2, UNDEFINED_TERMS_V2, ContextLoader
from ledger.vc.multikey import did_key, did_key_method

LOADER = ContextLoader()
ISSUER = ec.generate_private_key(ec.SECP256R1())
MANDATORY = ["/id", "/type", "/issuer", "/validFrom", "/validUntil"]


def licence(trade_name: str, owner: str, national_id: str) -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2, UNDEFINED_TERMS_V2],  # the W3C contexts alone: claims as issuer-dependent terms
        "id": "urn:sijill:" + "ab" * 32,
        "type": ["VerifiableCredential", "CommercialLicence"],
        "issuer": did_key(ISSUER.public_key()),
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-01-01T00:00:00Z",
        "credentialSubject": {"tradeName": trade_name, "owner": {"name": owner, "nationalId": national_id}},
    }


def issued(trade_name: str, owner: str, national_id: str) -> dict[str, Any]:
    return add_base_proof(
        licence(trade_name, owner, national_id),
        key=ISSUER,
        verification_method=did_key_method(ISSUER.public_key()),
        created="2026-01-01T00:00:00Z",
        mandatory_pointers=MANDATORY,
        loader=LOADER,
    )


def test_a_licence_signed_then_disclosed_in_part_verifies_and_hides_the_rest() -> None:
    credential = issued("مؤسسة النور للتجارة", "Fatima Al-Kuwari", "28463400123")
    assert verify_base_proof(credential, LOADER).verified
    derived = derive_proof(credential, ["/credentialSubject/tradeName"], LOADER)
    check = verify_derived_proof(derived, LOADER)
    assert check.verified, check.reason
    assert derived["credentialSubject"]["tradeName"] == "مؤسسة النور للتجارة"
    assert "owner" not in derived["credentialSubject"]
    for hidden in ("Fatima", "28463400123"):
        assert hidden not in json.dumps(derived, ensure_ascii=False)
    assert derived["validUntil"] == "2027-01-01T00:00:00Z"  # mandatory: always disclosed


def test_another_issuers_key_does_not_verify_it() -> None:
    derived = derive_proof(issued("A", "B", "C"), ["/credentialSubject/tradeName"], LOADER)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert not verify_derived_proof(derived, LOADER, issuer_key=other).verified


# Any text but backslashes, control characters and line separators, which issuance refuses
# (tests/unit/test_credential_forgeries.py).
printable = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\\"), min_size=1, max_size=40
)


@settings(max_examples=15, deadline=None)
@given(printable, printable, printable)
def test_any_claims_round_trip_and_a_hidden_one_never_shows(trade_name: str, owner: str, national_id: str) -> None:
    derived = derive_proof(issued(trade_name, owner, national_id), ["/credentialSubject/tradeName"], LOADER)
    assert verify_derived_proof(derived, LOADER).verified
    assert derived["credentialSubject"] == {"tradeName": trade_name}
