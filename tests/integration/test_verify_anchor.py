"""POST /v1/verify/anchor, what the verification page asks: the verdict on a document by its hashes, proof and
issuer claims alone, on a real chain. It must say what POST /v1/verify says of the whole document, check for
check (but the content's own, which the page makes in the browser)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import obfuscate
from ledger.domain import ReasonCode
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key
from ledger.usecases.status import Action, change_status
from tests.integration.conftest import auth, licence


def anchor_query(document: dict[str, Any]) -> dict[str, Any]:
    """What the page sends: no field of the document."""
    data = unsalt_data(document["data"])
    issuer = data["issuers"][0]
    return {
        "target_hash": document["signature"]["targetHash"],
        "merkle_root": document["signature"]["merkleRoot"],
        "proof": document["signature"]["proof"],
        "chain_id": data["sijill"]["chainId"],
        "registry": data["sijill"]["registry"],
        "agency_id": data["sijill"]["agencyId"],
        "document_store": issuer["documentStore"],
        "issuer_name": issuer["name"],
        "valid_until": data.get("validUntil"),
        "document_type": data["documentType"],
        "sijill_version": data["sijill"]["version"],
        "type_binding": data["sijill"]["documentType"],
    }


def both(client: TestClient, document: dict[str, Any], query: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    whole = client.post("/v1/verify", json=document)
    anchored = client.post("/v1/verify/anchor", json=query)
    assert whole.status_code == anchored.status_code == 200, (whole.text, anchored.text)
    return whole.json(), anchored.json()


def same_verdict(whole: dict[str, Any], anchored: dict[str, Any]) -> None:
    assert anchored["status"] == whole["status"]
    assert anchored["summary"] == whole["summary"]
    assert anchored["issuer"] == whole["issuer"]
    assert anchored["anchor"] == whole["anchor"]
    expected = [(c["name"], c["outcome"], c["message"]) for c in whole["checks"] if c["name"] != "integrity"]
    assert [(c["name"], c["outcome"], c["message"]) for c in anchored["checks"]] == expected


@pytest.fixture
def batch(client: TestClient, moci: RegisteredAgency) -> list[dict[str, Any]]:
    response = client.post(
        "/v1/documents/batch",
        json={"documents": [licence("CL-1"), licence("CL-2"), licence("CL-3")]},
        headers=auth(moci.token),
    )
    assert response.status_code == 201, response.text
    documents: list[dict[str, Any]] = response.json()["documents"]
    return documents


def _claim(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda query: query.update({name: value})


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda _query: None, "VALID"),
        (_claim("agency_id", "qu"), "UNKNOWN_ISSUER"),
        (_claim("registry", "0x" + "11" * 20), "UNKNOWN_ISSUER"),
        (_claim("chain_id", 1), "UNKNOWN_ISSUER"),
        (_claim("valid_until", "2020-01-01T00:00:00+00:00"), "EXPIRED"),
        (_claim("proof", ["ab" * 32]), "TAMPERED"),
        (_claim("target_hash", "cd" * 32), "TAMPERED"),
        (lambda query: query["type_binding"].update(definition="0x" + "77" * 32), "UNKNOWN_ISSUER"),
        (lambda query: query["type_binding"].update(version=2), "UNKNOWN_ISSUER"),
        (_claim("type_binding", None), "UNKNOWN_ISSUER"),  # a version 2 document names its type
    ],
)
def test_the_anchor_query_answers_as_the_whole_document_does(
    client: TestClient, batch: list[dict[str, Any]], change: Callable[[dict[str, Any]], None], status: str
) -> None:
    query = anchor_query(batch[1])
    change(query)
    anchored = client.post("/v1/verify/anchor", json=query).json()
    assert anchored["status"] == status, anchored["summary"]
    if status == "VALID":
        same_verdict(*both(client, batch[1], query))


def test_hidden_fields_revocation_and_suspension_read_alike(
    client: TestClient, ledger: Ledger, batch: list[dict[str, Any]]
) -> None:
    hidden = obfuscate(batch[0], ["subject.owner", "subject.address"])
    same_verdict(*both(client, hidden, anchor_query(hidden)))
    change_status(
        ledger, Actor("moci"), batch[0]["signature"]["targetHash"], Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION
    )
    whole, anchored = both(client, batch[0], anchor_query(batch[0]))
    assert anchored["status"] == "SUSPENDED"
    same_verdict(whole, anchored)
    change_status(ledger, Actor("moci"), batch[2]["signature"]["targetHash"], Action.REVOKE, ReasonCode.FRAUD)
    whole, anchored = both(client, batch[2], anchor_query(batch[2]))
    assert anchored["status"] == "REVOKED"
    same_verdict(whole, anchored)


def test_a_root_never_anchored_is_not_issued(client: TestClient, batch: list[dict[str, Any]]) -> None:
    query = anchor_query(batch[0]) | {"target_hash": "ef" * 32, "merkle_root": "ef" * 32, "proof": []}
    assert client.post("/v1/verify/anchor", json=query).json()["status"] == "NOT_ISSUED"


def test_a_malformed_query_is_a_422_naming_the_field(client: TestClient, batch: list[dict[str, Any]]) -> None:
    query = copy.deepcopy(anchor_query(batch[0]))
    query["proof"] = ["not a hash"]
    response = client.post("/v1/verify/anchor", json=query)
    assert response.status_code == 422
    assert "proof" in response.json()["error"]["message"]


def without_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """What the page sends of a credential whose proof it checked."""
    stripped = {key: value for key, value in credential.items() if key != "credentialSubject"}
    stripped["proof"] = {key: value for key, value in credential["proof"].items() if key != "proofValue"}
    return stripped


def test_a_credential_sent_without_its_claims_answers_as_the_whole_credential(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, batch: list[dict[str, Any]]
) -> None:
    add_credential_key(ledger, "moci")
    target = batch[0]["signature"]["targetHash"]
    credential = client.get(f"/v1/documents/{target}/credential", headers=auth(moci.token)).json()
    derived = client.post(
        "/v1/credentials/derive", json={"credential": credential, "disclose": ["/credentialSubject/tradeName"]}
    ).json()
    for shown in (credential, derived):
        whole = client.post("/v1/verify", json=shown).json()
        anchored = client.post("/v1/verify/credential-anchor", json={"credential": without_claims(shown)}).json()
        assert anchored["status"] == whole["status"] == "VALID"
        expected = [(c["name"], c["outcome"], c["message"]) for c in whole["checks"] if c["name"] != "proof"]
        assert [(c["name"], c["outcome"], c["message"]) for c in anchored["checks"]] == expected
    change_status(ledger, Actor("moci"), target, Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
    anchored = client.post("/v1/verify/credential-anchor", json={"credential": without_claims(derived)}).json()
    assert anchored["status"] == "SUSPENDED"


def test_a_credential_anchor_query_refuses_claims_and_proof_values(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, batch: list[dict[str, Any]]
) -> None:
    add_credential_key(ledger, "moci")
    target = batch[0]["signature"]["targetHash"]
    credential = client.get(f"/v1/documents/{target}/credential", headers=auth(moci.token)).json()
    whole = client.post("/v1/verify/credential-anchor", json={"credential": credential})
    assert whole.status_code == 422
    assert "without its credentialSubject" in whole.json()["error"]["message"]
    valued = without_claims(credential) | {"proof": credential["proof"]}
    response = client.post("/v1/verify/credential-anchor", json={"credential": valued})
    assert response.status_code == 422
    assert "without its proofValue" in response.json()["error"]["message"]
    foreign = without_claims(credential) | {"id": "urn:uuid:1"}
    assert client.post("/v1/verify/credential-anchor", json={"credential": foreign}).status_code == 422
