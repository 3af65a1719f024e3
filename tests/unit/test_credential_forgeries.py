"""What a forger (or a careless holder) tries against a credential, each refused: content JSON-LD would
drop unsigned, renamed claims, another key than the issuer's, one signature serving twice, work without
end, and input that used to crash instead of being refused."""

from __future__ import annotations

import copy
import gzip
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError
from ledger.vc import rdf
from ledger.vc.ecdsa_sd import DerivedProofValue, derive_proof, given_labels, verify_base_proof, verify_derived_proof
from ledger.vc.multikey import decode_public, public_key_of_did_key
from ledger.vc.status_list import MIN_ENTRIES, StatusBits
from tests.unit.test_credentials_roundtrip import LOADER, issued, licence


def _derived() -> dict[str, Any]:
    return derive_proof(issued("Al Noor Trading", "Fatima", "28463400123"), ["/credentialSubject/tradeName"], LOADER)


def _outcome(credential: dict[str, Any]) -> bool:
    """True only if the credential verifies; a refusal to read it counts as not verified."""
    try:
        return verify_derived_proof(credential, LOADER).verified
    except CredentialError:
        return False


@pytest.mark.parametrize(
    "smuggled",
    [
        {"id": "did:example:mallory x", "degree": "PhD"},  # an IRI with a space: JSON-LD drops the node
        {"id": "relative", "degree": "PhD"},  # a relative id: resolved against some base, not signed as written
        {"tradeName": "Al Noor Trading", "extra": None},  # a null: dropped
        {"tradeName": "Al Noor Trading", "@graph": [{"degree": "PhD"}]},  # a keyword: never a claim
        {"tradeName": "Al Noor Trading", "type": "Admin Licence"},  # a type with a space
        {"tradeName": "Al Noor Trading", "bad key": "x"},  # a key with a space
    ],
)
def test_content_json_ld_would_drop_is_refused_not_carried_unsigned(smuggled: dict[str, Any]) -> None:
    forged = _derived()
    forged["credentialSubject"] = smuggled
    assert not _outcome(forged)


def test_an_inline_context_that_renames_claims_is_refused() -> None:
    forged = _derived()
    forged["@context"] = [*forged["@context"], {"tradeName": "https://example.org/ownerName"}]
    with pytest.raises(CredentialError, match="list of context URLs"):
        verify_derived_proof(forged, LOADER)


def test_one_signature_cannot_serve_two_blank_nodes_under_one_label() -> None:
    credential = derive_proof(
        issued("A", "B", "C"), ["/credentialSubject/tradeName", "/credentialSubject/owner"], LOADER
    )
    value = DerivedProofValue.decode(credential["proof"]["proofValue"])
    one_label = dict.fromkeys(value.label_map, next(iter(value.label_map.values())))
    with pytest.raises(CredentialError, match=r"two blank nodes one label|exactly"):
        given_labels(one_label)({"b0": "c14n0", "b1": "c14n1"})
    forged = copy.deepcopy(credential)
    replaced = DerivedProofValue(
        value.base_signature, value.public_key, value.signatures, one_label, value.mandatory_indexes
    )
    forged["proof"]["proofValue"] = replaced.encode()
    assert not _outcome(forged)


def test_repeated_mandatory_indexes_are_refused() -> None:
    credential = _derived()
    value = DerivedProofValue.decode(credential["proof"]["proofValue"])
    repeated = [*value.mandatory_indexes, value.mandatory_indexes[0]]
    credential["proof"]["proofValue"] = DerivedProofValue(
        value.base_signature, value.public_key, value.signatures, value.label_map, repeated
    ).encode()
    assert not _outcome(credential)


def test_blank_nodes_named_in_the_input_are_refused_so_canonical_order_stays_cheap() -> None:
    """A complete graph of named blank nodes took seconds at 7 nodes and ten times more per node."""
    nodes = [{"id": f"_:n{i}", "knows": [{"id": f"_:n{j}"} for j in range(8) if j != i]} for i in range(8)]
    document = {**licence("A", "B", "C"), "credentialSubject": nodes}
    started = time.monotonic()
    with pytest.raises(CredentialError, match="absolute IRI"):
        rdf.to_nquads(document, LOADER)
    assert time.monotonic() - started < 5  # refused before any canonicalisation, not after minutes


@pytest.mark.parametrize("text", ["C:\\new", "line one\nline two", "bell\x07", "sep\u2028arator", "urn:bnid:x"])
def test_strings_that_would_not_be_signed_alike_are_refused_at_issuance(text: str) -> None:
    with pytest.raises(CredentialError, match="not signed alike"):
        issued(text, "B", "C")


def test_a_blank_node_label_inside_a_claim_is_only_text() -> None:
    credential = issued("see _:b0 and <urn:x>", "B", "C")
    assert verify_base_proof(credential, LOADER).verified
    derived = derive_proof(credential, ["/credentialSubject/tradeName"], LOADER)
    assert verify_derived_proof(derived, LOADER).verified
    assert derived["credentialSubject"]["tradeName"] == "see _:b0 and <urn:x>"


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (derive_proof, ({"@context": [], "proof": {}}, ["/credentialSubject/²"])),
        (derive_proof, ("not a credential", [])),
        (derive_proof, ({}, [1])),
        (verify_derived_proof, ({"proof": {}},)),
        (verify_derived_proof, ([1, 2],)),
        (public_key_of_did_key, (5,)),
        (decode_public, ("z" + "1" * 60_000,)),
    ],
)
def test_malformed_input_is_a_clear_refusal_never_a_crash(call: Any, args: tuple[Any, ...]) -> None:
    started = time.monotonic()
    with pytest.raises(CredentialError):
        call(*args, LOADER) if call in (derive_proof, verify_derived_proof) and len(args) < 3 else call(*args)
    assert time.monotonic() - started < 5


def test_a_pointer_with_a_non_ascii_digit_names_nothing() -> None:
    with pytest.raises(CredentialError, match="names nothing"):
        derive_proof(issued("A", "B", "C"), ["/credentialSubject/²"], LOADER)


def test_an_integer_javascript_reads_otherwise_is_refused() -> None:
    document = {**licence("A", "B", "C"), "credentialSubject": {"capital": 2**60}}
    with pytest.raises(CredentialError, match="larger than"):
        rdf.to_nquads(document, LOADER)


def test_a_cut_or_doubled_gzip_status_list_is_refused() -> None:
    import base64

    whole = gzip.compress(bytes(MIN_ENTRIES // 8), mtime=0)
    for forged in (whole[:-8], whole + whole):
        with pytest.raises(CredentialError, match=r"cut short|followed"):
            StatusBits.decode("u" + base64.urlsafe_b64encode(forged).rstrip(b"=").decode())


def test_an_issuer_key_given_by_the_caller_is_the_one_checked() -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert not verify_derived_proof(_derived(), LOADER, issuer_key=other).verified
