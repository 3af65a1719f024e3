"""A Sijill licence as a VC 2.0 credential: built, signed, disclosed in part; what a holder may never hide
stays in every derived copy."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.vc.credential import (
    AnchorEvidence,
    StatusEntry,
    document_credential,
    sign_as_did_key,
    type_name,
)
from ledger.vc.ecdsa_sd import derive_proof, verify_derived_proof
from ledger.vc.loader import ContextLoader
from ledger.vc.multikey import did_key

LOADER = ContextLoader()
KEY = ec.generate_private_key(ec.SECP256R1())
LISTS = "http://127.0.0.1:8000/v1/status-lists/moci"


def _credential() -> dict[str, object]:
    return document_credential(
        document_type="commercial-licence",
        issuer=did_key(KEY.public_key()),
        claims={"licenceNumber": "CL-2026-00042", "tradeName": {"en": "Al Noor Trading", "ar": "مؤسسة النور"}},
        target_hash="0x" + "ab" * 32,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        valid_until=datetime(2027, 1, 1, tzinfo=UTC),
        status=[
            StatusEntry("revocation", f"{LISTS}/revocation", 94567),
            StatusEntry("suspension", f"{LISTS}/suspension", 94567),
        ],
        evidence=AnchorEvidence(
            "ab" * 32, "cd" * 32, 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x" + "ef" * 32
        ),
    )


def test_the_type_id_becomes_a_credential_type() -> None:
    assert type_name("commercial-licence") == "CommercialLicence"
    assert type_name("academic_certificate") == "AcademicCertificate"


def test_a_licence_disclosing_one_claim_keeps_its_issuer_validity_status_and_anchor() -> None:
    credential = _credential()
    signed = sign_as_did_key(credential, KEY, created=datetime(2026, 1, 1, tzinfo=UTC), loader=LOADER)
    derived = derive_proof(signed, ["/credentialSubject/licenceNumber"], LOADER)
    check = verify_derived_proof(derived, LOADER)
    assert check.verified, check.reason
    assert derived["credentialSubject"] == {"licenceNumber": "CL-2026-00042"}
    for kept in ("id", "type", "issuer", "validFrom", "validUntil", "credentialStatus", "evidence"):
        assert derived[kept] == credential[kept]
    assert derived["credentialStatus"][0]["statusListIndex"] == "94567"
    assert derived["id"] == "urn:sijill:" + "ab" * 32
