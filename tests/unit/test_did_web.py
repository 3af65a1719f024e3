"""An agency's did:web, where its document is served, and the document itself."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError
from ledger.vc.did import agency_did, did_document, did_document_url, web_did
from ledger.vc.multikey import decode_public


@pytest.mark.parametrize(
    ("base", "did", "url"),
    [
        (
            "https://sijill.gov.qa",
            "did:web:sijill.gov.qa:agencies:moci",
            "https://sijill.gov.qa/agencies/moci/did.json",
        ),
        (
            "http://127.0.0.1:8000",
            "did:web:127.0.0.1%3A8000:agencies:moci",
            "http://127.0.0.1:8000/agencies/moci/did.json",
        ),
        (
            "https://gov.qa/sijill/",
            "did:web:gov.qa:sijill:agencies:moci",
            "https://gov.qa/sijill/agencies/moci/did.json",
        ),
    ],
)
def test_an_agencys_did_names_its_document_under_the_base_url(base: str, did: str, url: str) -> None:
    assert agency_did(base, "moci") == did
    assert did_document_url(did) == url


def test_a_bare_host_is_served_at_the_well_known_place() -> None:
    assert did_document_url(web_did("https://sijill.gov.qa")) == "https://sijill.gov.qa/.well-known/did.json"


@pytest.mark.parametrize("base", ["ftp://x.qa", "https://", "https://x.qa/?q=1", "https://x.qa/a b"])
def test_what_a_did_web_cannot_name_is_refused(base: str) -> None:
    with pytest.raises(CredentialError):
        web_did(base)


def test_the_document_lists_each_key_as_an_assertion_method_multikey() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    did = agency_did("https://sijill.gov.qa", "moci")
    document = did_document(did, [key])
    (method,) = document["verificationMethod"]  # type: ignore[misc]
    assert method["type"] == "Multikey"
    assert method["controller"] == did
    assert decode_public(method["publicKeyMultibase"]).public_numbers() == key.public_numbers()
    assert document["assertionMethod"] == [method["id"]]
    assert method["id"].startswith(did + "#z")
