"""Governance through the API: agencies, tokens, keys, rotation."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from ledger.settings import DEV_ADMIN_TOKEN
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth, example

ADMIN = auth(DEV_ADMIN_TOKEN)


def test_register_agency_add_key_and_issue(client: TestClient, ledger: Ledger) -> None:
    response = client.post(
        "/v1/admin/agencies",
        json={"agency_id": "baladiya", "name": "Doha Municipality", "name_ar": "بلدية الدوحة"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert ledger.registry.agency_name("baladiya") == "Doha Municipality"

    key = client.post("/v1/admin/agencies/baladiya/keys", json={}, headers=ADMIN)
    assert key.status_code == 201, key.text
    address = key.json()["address"]
    assert key.json()["valid_until"] is None
    assert ledger.registry.issuer_key(address).agency_id == "baladiya"
    assert ledger.registry.balance(address) == ledger.settings.fund_new_keys_wei

    issued = client.post("/v1/documents", json=example("building-permit"), headers=auth(token))
    assert issued.status_code == 201
    assert issued.json()["anchor"]["key"] == address
    listed = client.get("/v1/agencies/baladiya").json()
    assert listed["name_ar"] == "بلدية الدوحة"
    assert [k["address"] for k in listed["keys"]] == [address]


def test_duplicate_and_malformed_agencies(client: TestClient) -> None:
    body = {"agency_id": "moe", "name": "Ministry of Education"}
    assert client.post("/v1/admin/agencies", json=body, headers=ADMIN).status_code == 201
    again = client.post("/v1/admin/agencies", json=body, headers=ADMIN)
    assert again.status_code == 409
    assert "registered already" in again.json()["error"]["message"]
    bad = client.post("/v1/admin/agencies", json={"agency_id": "Bad Id", "name": "X"}, headers=ADMIN)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "agency_id")
    assert client.post("/v1/admin/agencies/nobody/keys", json={}, headers=ADMIN).status_code == 404


def test_key_rotation_keeps_old_documents_valid(client: TestClient, ledger: Ledger) -> None:
    token = client.post(
        "/v1/admin/agencies", json={"agency_id": "moci", "name": "Ministry of Commerce"}, headers=ADMIN
    ).json()["token"]
    old_key = client.post("/v1/admin/agencies/moci/keys", json={}, headers=ADMIN).json()["address"]
    old_document = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(token)).json()

    retired = client.post(f"/v1/admin/keys/{old_key}/retire", json={}, headers=ADMIN)
    assert retired.status_code == 200, retired.text
    time.sleep(1.1)  # the key stays valid for the rest of the second it was retired in
    refused = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(token))
    assert refused.status_code == 409

    new_key = client.post("/v1/admin/agencies/moci/keys", json={}, headers=ADMIN).json()["address"]
    new_document = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(token)).json()
    assert new_document["anchor"]["key"] == new_key

    old_result = client.post("/v1/verify", json=old_document["document"]).json()
    assert old_result["status"] == "VALID"
    key_check = next(c for c in old_result["checks"] if c["name"] == "issuer_key")
    assert key_check["evidence"]["key"] == old_key
    assert key_check["evidence"]["valid_at_anchor"] is True
    assert key_check["evidence"]["valid_until"] is not None
    assert client.post("/v1/verify", json=new_document["document"]).json()["status"] == "VALID"

    # The new key may revoke what the old key issued: authority belongs to the agency.
    target = old_document["target_hash"]
    assert client.post(f"/v1/documents/{target}/revoke", json={}, headers=auth(token)).status_code == 200


def test_health_and_docs(client: TestClient, ledger: Ledger) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["chain"]["registry"] == ledger.registry.address
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/documents",
        "/v1/documents/batch",
        "/v1/documents/{target_hash}",
        "/v1/verify",
        "/v1/documents/{target_hash}/revoke",
        "/v1/documents/{target_hash}/suspend",
        "/v1/documents/{target_hash}/reinstate",
        "/v1/admin/agencies",
        "/health",
    ):
        assert path in paths
    types = client.get("/v1/document-types").json()
    assert [t["name"] for t in types] == ["academic-certificate", "building-permit", "commercial-licence"]
