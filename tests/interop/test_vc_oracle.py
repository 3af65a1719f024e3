"""Digital Bazaar's verifier (npm `@digitalbazaar/vc` with its `ecdsa-sd-2023` cryptosuite), as an
independent oracle: Sijill's credentials, disclosed in part by their holders, verify under it, and what
a forger changes is refused by both."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError
from ledger.vc.credential import StatusEntry, document_credential, sign_as_did_key
from ledger.vc.ecdsa_sd import derive_proof, verify_derived_proof
from ledger.vc.loader import BUNDLED, ContextLoader
from ledger.vc.multikey import did_key
from tests.interop.node import run_node

ORACLE = Path(__file__).with_name("vc_oracle.mjs")
LOADER = ContextLoader()
CONTEXTS = {url: LOADER(url)["document"] for url in BUNDLED}
KEY = ec.generate_private_key(ec.SECP256R1())
LISTS = "https://sijill.example.gov.qa/v1/status-lists/moci"
CLAIMS = {
    "licenceNumber": "CL-2026-000123",
    "tradeName": {"en": "Al Noor Trading", "ar": "مؤسسة النور للتجارة"},
    "owner": {"name": {"en": "Fatima Al-Kuwari", "ar": "فاطمة الكواري"}, "nationalId": "28463400123"},
    "activities": ["4719", "4690"],
    "capital": 500000,
}


def licence() -> dict[str, Any]:
    credential = document_credential(
        document_type="commercial-licence",
        issuer=did_key(KEY.public_key()),
        claims=CLAIMS,
        target_hash="ab" * 32,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        valid_until=datetime(2027, 1, 1, tzinfo=UTC),
        status=[
            StatusEntry("revocation", f"{LISTS}/revocation", 7),
            StatusEntry("suspension", f"{LISTS}/suspension", 7),
        ],
    )
    return sign_as_did_key(credential, KEY, created=datetime(2026, 1, 1, tzinfo=UTC), loader=LOADER)


def oracle(*credentials: dict[str, Any]) -> list[dict[str, Any]]:
    """Digital Bazaar's answer on each credential's proof (offline: no status list is read here)."""
    answers: list[dict[str, Any]] = run_node(ORACLE, stdin={"credentials": list(credentials), "contexts": CONTEXTS})[
        "answers"
    ]
    return answers


SELECTIONS = [
    ["/credentialSubject/licenceNumber"],
    ["/credentialSubject/tradeName"],
    ["/credentialSubject/owner/name/ar", "/credentialSubject/activities"],
    ["/credentialSubject/capital", "/credentialSubject/owner/nationalId"],
    ["/credentialSubject"],  # everything
]


def test_every_selection_a_holder_makes_verifies_under_digital_bazaars_verifier_and_sijills() -> None:
    base = licence()
    derived = [derive_proof(base, selection, LOADER) for selection in SELECTIONS]
    answers = oracle(*derived)
    for selection, credential, answer in zip(SELECTIONS, derived, answers, strict=True):
        assert answer["verified"], (selection, answer["errors"])
        assert verify_derived_proof(credential, LOADER).verified


def test_a_forged_claim_or_a_removed_status_is_refused_by_both() -> None:
    derived = derive_proof(licence(), ["/credentialSubject/licenceNumber", "/credentialSubject/capital"], LOADER)
    forged_claim = copy.deepcopy(derived)
    forged_claim["credentialSubject"]["capital"] = 5000000
    no_status = copy.deepcopy(derived)
    del no_status["credentialStatus"]  # mandatory: a holder may never hide it
    for forged, answer in zip((forged_claim, no_status), oracle(forged_claim, no_status), strict=True):
        assert not answer["verified"], forged
        assert not verify_derived_proof(forged, LOADER).verified


def test_a_holder_cannot_make_a_copy_that_discloses_no_claim() -> None:
    """Digital Bazaar refuses a credential without `credentialSubject` (the data model requires one): Sijill
    does not make one."""
    with pytest.raises(CredentialError, match="at least one claim"):
        derive_proof(licence(), [], LOADER)
