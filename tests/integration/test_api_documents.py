"""The API end to end on a real chain: issue, verify, hide, revoke, suspend, reinstate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import wrap_documents
from ledger.settings import DEV_ADMIN_TOKEN
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from ledger.usecases.verify import verify_document
from ledger.verification import VerificationStatus
from tests.integration.conftest import auth, example, licence


def issue(client: TestClient, token: str, name: str = "commercial-licence") -> dict[str, Any]:
    response = client.post("/v1/documents", json=example(name), headers=auth(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def verify(client: TestClient, document: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/verify", json=document)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_issue_verify_hide_revoke(client: TestClient, moci: RegisteredAgency) -> None:
    issued = issue(client, moci.token)
    document = issued["document"]
    result = verify(client, document)
    assert result["status"] == "VALID"
    assert result["issuer"]["agency_id"] == "moci"
    assert result["anchor"]["transaction"] == issued["anchor"]["transaction"]
    assert result["anchor"]["block_number"] == issued["anchor"]["block_number"]

    hidden = client.post("/v1/obfuscate", json={"document": document, "fields": ["subject.owner.nationalId"]})
    assert hidden.status_code == 200
    assert "nationalId" not in hidden.json()["data"]["subject"]["owner"]
    assert verify(client, hidden.json())["status"] == "VALID"

    revoked = client.post(
        f"/v1/documents/{issued['target_hash']}/revoke", json={"reason": "superseded"}, headers=auth(moci.token)
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "REVOKED"
    assert verify(client, document)["status"] == "REVOKED"
    assert verify(client, hidden.json())["status"] == "REVOKED"
    record = client.get(f"/v1/documents/{issued['target_hash']}").json()
    assert (record["status"], record["reason"]) == ("REVOKED", "superseded")

    again = client.post(f"/v1/documents/{issued['target_hash']}/revoke", json={}, headers=auth(moci.token))
    assert again.status_code == 409
    assert "revocation is final" in again.json()["error"]["message"]


def test_batch_with_one_document_revoked(client: TestClient, moci: RegisteredAgency) -> None:
    body = {"documents": [licence("CL-2026-000201"), licence("CL-2026-000202"), licence("CL-2026-000203")]}
    response = client.post("/v1/documents/batch", json=body, headers=auth(moci.token))
    assert response.status_code == 201, response.text
    batch = response.json()
    documents = batch["documents"]
    assert len({d["signature"]["merkleRoot"] for d in documents}) == 1
    assert [verify(client, d)["status"] for d in documents] == ["VALID"] * 3

    permit_hash = documents[1]["signature"]["targetHash"]
    revoked = client.post(f"/v1/documents/{permit_hash}/revoke", json={"reason": "fraud"}, headers=auth(moci.token))
    assert revoked.json()["scope"] == "document"
    assert [verify(client, d)["status"] for d in documents] == ["VALID", "REVOKED", "VALID"]

    root = batch["anchor"]["merkle_root"]
    suspended = client.post(
        f"/v1/documents/{root}/suspend", json={"reason": "under-investigation"}, headers=auth(moci.token)
    )
    assert suspended.json()["scope"] == "batch"
    assert [verify(client, d)["status"] for d in documents] == ["SUSPENDED", "REVOKED", "SUSPENDED"]
    client.post(f"/v1/documents/{root}/reinstate", headers=auth(moci.token))
    assert [verify(client, d)["status"] for d in documents] == ["VALID", "REVOKED", "VALID"]


def test_suspend_and_reinstate_a_permit(client: TestClient, moci: RegisteredAgency) -> None:
    issued = issue(client, moci.token, "building-permit")
    target = issued["target_hash"]
    assert issued["anchor"]["expires_at"] == "2028-06-30T23:59:59Z"
    response = client.post(
        f"/v1/documents/{target}/suspend", json={"reason": "non-compliance"}, headers=auth(moci.token)
    )
    assert response.status_code == 200, response.text
    result = verify(client, issued["document"])
    assert result["status"] == "SUSPENDED"
    assert "non_compliance" in result["summary"]
    assert client.post(f"/v1/documents/{target}/reinstate", headers=auth(moci.token)).status_code == 200
    assert verify(client, issued["document"])["status"] == "VALID"
    assert client.post(f"/v1/documents/{target}/reinstate", headers=auth(moci.token)).status_code == 409


def test_admin_may_revoke_but_not_suspend(client: TestClient, moci: RegisteredAgency) -> None:
    issued = issue(client, moci.token)
    target = issued["target_hash"]
    denied = client.post(f"/v1/documents/{target}/suspend", json={}, headers=auth(DEV_ADMIN_TOKEN))
    assert denied.status_code == 403
    revoked = client.post(
        f"/v1/documents/{target}/revoke", json={"reason": "administrative"}, headers=auth(DEV_ADMIN_TOKEN)
    )
    assert revoked.status_code == 200
    assert verify(client, issued["document"])["status"] == "REVOKED"


def test_tampered_and_foreign_documents(client: TestClient, moci: RegisteredAgency) -> None:
    document = issue(client, moci.token)["document"]
    tampered = {**document, "data": {**document["data"], "documentType": document["data"]["documentType"] + "x"}}
    result = verify(client, tampered)
    assert result["status"] == "TAMPERED"
    assert result["checks"][0]["evidence"]["expected_target_hash"] == document["signature"]["targetHash"]
    assert verify(client, {**document, "signature": {**document["signature"], "targetHash": "00" * 32}})["status"] == (
        "TAMPERED"
    )


def test_document_never_anchored_is_not_issued(client: TestClient, moci: RegisteredAgency) -> None:
    document = issue(client, moci.token)["document"]
    # The same content, wrapped again with fresh salts by someone else: never anchored.
    forged = wrap_documents([unsalt_data(document["data"])])[0]
    assert verify(client, forged)["status"] == "NOT_ISSUED"


def test_a_licence_expires_on_its_expiry_date(client: TestClient, ledger: Ledger, moci: RegisteredAgency) -> None:
    issued = issue(client, moci.token)
    assert issued["anchor"]["expires_at"] == "2027-11-22T23:59:59Z"  # from the licence's expiryDate
    later = Ledger(ledger.settings, clock=lambda: datetime(2027, 11, 23, tzinfo=UTC))
    result = verify_document(later, issued["document"])
    assert result.status is VerificationStatus.EXPIRED
    later.close()
