"""Bad input, wrong keys, a paused registry and a chain that is down: precise 4xx/503, nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ledger.chain.anvil import free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord
from ledger.chain.registry import RegistryClient
from ledger.chain.rpc import connect
from ledger.errors import DeploymentError
from ledger.settings import DEV_ADMIN_TOKEN, Settings
from ledger.store.models import BatchRow
from ledger.usecases.agencies import RegisteredAgency, register_agency
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth, example


def error_of(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]  # type: ignore[no-any-return]


def test_malformed_json_is_400(client: TestClient, moci: RegisteredAgency) -> None:
    response = client.post(
        "/v1/documents", content=b'{"document_type": ', headers={**auth(moci.token), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_schema_error_names_the_field(client: TestClient, moci: RegisteredAgency) -> None:
    request = example("commercial-licence")
    request["fields"]["owner"]["nationalId"] = "not-a-number"
    response = client.post("/v1/documents", json=request, headers=auth(moci.token))
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == "fields.owner.nationalId"
    assert error["code"] == "schema_validation"


def test_batch_schema_error_names_the_document(client: TestClient, moci: RegisteredAgency) -> None:
    broken = example("building-permit")
    broken["fields"]["floors"] = -1
    body = {"documents": [example("commercial-licence"), broken]}
    response = client.post("/v1/documents/batch", json=body, headers=auth(moci.token))
    assert response.status_code == 422
    assert error_of(response)["field"] == "documents.1.fields.floors"


def test_unknown_fields_and_types_are_named(client: TestClient, moci: RegisteredAgency) -> None:
    response = client.post(
        "/v1/documents", json={**example("commercial-licence"), "colour": "red"}, headers=auth(moci.token)
    )
    assert (response.status_code, error_of(response)["field"]) == (422, "colour")
    response = client.post(
        "/v1/documents", json={**example("commercial-licence"), "document_type": "passport"}, headers=auth(moci.token)
    )
    assert response.status_code == 422
    assert "known types" in error_of(response)["message"]


def test_expiry_in_the_past_is_refused(client: TestClient, moci: RegisteredAgency) -> None:
    request = {**example("commercial-licence"), "expires_at": "2001-01-01T00:00:00Z"}
    response = client.post("/v1/documents", json=request, headers=auth(moci.token))
    assert (response.status_code, error_of(response)["field"]) == (422, "expires_at")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_token_is_401(client: TestClient, moci: RegisteredAgency, headers: dict[str, str]) -> None:
    response = client.post("/v1/documents", json=example("commercial-licence"), headers=headers)
    assert response.status_code == 401
    assert "token" in error_of(response)["message"].lower()


def test_roles_are_enforced(client: TestClient, ledger: Ledger, moci: RegisteredAgency) -> None:
    assert (
        client.post("/v1/admin/agencies", json={"agency_id": "x1", "name": "X"}, headers=auth(moci.token)).status_code
        == 403
    )
    assert (
        client.post("/v1/documents", json=example("commercial-licence"), headers=auth(DEV_ADMIN_TOKEN)).status_code
        == 403
    )
    other = register_agency(ledger, "qu", "Qatar University")
    target = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()[
        "target_hash"
    ]
    response = client.post(f"/v1/documents/{target}/revoke", json={}, headers=auth(other.token))
    assert response.status_code == 403
    assert "it was issued by agency 'moci'" in error_of(response)["message"]


def test_agency_without_a_key_gets_a_clear_409(client: TestClient, ledger: Ledger) -> None:
    keyless = register_agency(ledger, "keyless", "Keyless Agency")
    response = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(keyless.token))
    assert response.status_code == 409
    assert "no issuer key valid now" in error_of(response)["message"]


@pytest.mark.parametrize(("path", "status"), [("/v1/documents/" + "ab" * 32, 404), ("/v1/documents/xyz", 422)])
def test_unknown_and_malformed_hashes(client: TestClient, path: str, status: int) -> None:
    assert client.get(path).status_code == status


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"version": "x"},
        {"version": "https://schema.openattestation.com/2.0/schema.json", "data": {}},
        {
            "version": "https://schema.openattestation.com/2.0/schema.json",
            "data": {},
            "signature": {"type": "SHA3MerkleProof", "targetHash": "12", "merkleRoot": "00" * 32},
        },
    ],
)
def test_malformed_documents_are_422(client: TestClient, moci: RegisteredAgency, document: object) -> None:
    response = client.post("/v1/verify", json=document)
    assert response.status_code == 422
    assert error_of(response)["message"]


def test_paused_registry_is_503_and_records_nothing(client: TestClient, ledger: Ledger, moci: RegisteredAgency) -> None:
    target = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()[
        "target_hash"
    ]
    assert client.post("/v1/admin/pause", headers=auth(DEV_ADMIN_TOKEN)).status_code == 200
    response = client.post(f"/v1/documents/{target}/revoke", json={}, headers=auth(moci.token))
    assert response.status_code == 503
    assert "paused" in error_of(response)["message"]
    assert ledger.store.status_changes(target) == []
    assert client.post("/v1/admin/unpause", headers=auth(DEV_ADMIN_TOKEN)).status_code == 200
    assert client.post(f"/v1/documents/{target}/revoke", json={}, headers=auth(moci.token)).status_code == 200


@pytest.fixture
def dead_chain_client(
    tmp_path: Path, deployment: DeploymentRecord, ledger: Ledger, moci: RegisteredAgency
) -> Iterator[tuple[TestClient, Ledger]]:
    """The same installation, its RPC URL pointing where no node answers."""
    deployment.save(tmp_path / "deployment.json")
    settings = Settings(**{**ledger.settings.model_dump(), "rpc_url": f"http://127.0.0.1:{free_port()}"})
    down = Ledger(settings)
    with TestClient(create_app(ledger=down), raise_server_exceptions=False) as client:
        yield client, down
    down.close()


def test_chain_down_is_503_and_loses_nothing(
    client: TestClient, dead_chain_client: tuple[TestClient, Ledger], moci: RegisteredAgency
) -> None:
    issued = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()
    down, down_ledger = dead_chain_client

    response = down.post("/v1/documents", json=example("building-permit"), headers=auth(moci.token))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "cannot be reached" in error_of(response)["message"]
    states = sorted(b.state for b in (down_ledger.store.get_batch(r) for r in _roots(down_ledger)) if b)
    assert states in (["anchored"], ["anchored", "failed"])  # nothing pending, nothing issued

    assert down.post("/v1/verify", json=issued["document"]).status_code == 503
    revoke = down.post(f"/v1/documents/{issued['target_hash']}/revoke", json={}, headers=auth(moci.token))
    assert revoke.status_code == 503
    assert down_ledger.store.status_changes(issued["target_hash"]) == []
    assert down.get("/health").status_code == 503
    assert client.post("/v1/verify", json=issued["document"]).json()["status"] == "VALID"


def _roots(ledger: Ledger) -> list[str]:
    with ledger.store.session() as session:
        return list(session.scalars(select(BatchRow.root)))


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert error_of(client.get("/v1/nothing"))["code"] == "not_found"
    assert client.delete("/v1/verify").status_code == 405


def test_a_batch_shares_one_expiry(client: TestClient, moci: RegisteredAgency) -> None:
    body = {"documents": [example("commercial-licence"), example("building-permit")]}
    response = client.post("/v1/documents/batch", json=body, headers=auth(moci.token))
    assert response.status_code == 422
    assert "share one expiry" in error_of(response)["message"]


def test_hostile_documents_get_4xx_not_500(client: TestClient, moci: RegisteredAgency) -> None:
    document = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()[
        "document"
    ]
    salted = document["data"]["subject"]["licenceNumber"]
    broken_number = {**document, "data": {**document["data"], "x": salted[:37] + "number:abc"}}
    assert client.post("/v1/verify", json=broken_number).json()["status"] == "TAMPERED"
    nested: object = "x"
    for _ in range(3000):
        nested = {"a": nested}
    deep = {**document, "data": nested}
    for path in ("/v1/verify", "/v1/obfuscate"):
        body = deep if path == "/v1/verify" else {"document": deep, "fields": ["a"]}
        response = client.post(path, json=body)
        assert 400 <= response.status_code < 500, response.text
    upper = {
        **document,
        "signature": {**document["signature"], "targetHash": document["signature"]["targetHash"].upper()},
    }
    assert client.post("/v1/verify", json=upper).status_code == 422


def test_hiding_the_validity_date_is_refused(client: TestClient, moci: RegisteredAgency) -> None:
    issued = client.post("/v1/documents", json=example("building-permit"), headers=auth(moci.token)).json()
    response = client.post("/v1/obfuscate", json={"document": issued["document"], "fields": ["validUntil"]})
    assert response.status_code == 422
    assert "cannot be hidden" in error_of(response)["message"]


def test_a_registry_gone_from_the_chain_is_503(
    tmp_path: Path, ledger: Ledger, moci: RegisteredAgency, artifact: ContractArtifact
) -> None:
    with TestClient(create_app(ledger=ledger)) as client:
        document = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()
    gone = DeploymentRecord(**{**asdict(ledger.deployment), "address": "0x000000000000000000000000000000000000dEaD"})
    gone.save(tmp_path / "gone.json")
    settings = Settings(**{**ledger.settings.model_dump(), "deployment_file": tmp_path / "gone.json"})
    stale = Ledger(settings)
    with TestClient(create_app(ledger=stale), raise_server_exceptions=False) as client:
        response = client.post("/v1/verify", json=document["document"])
    assert response.status_code == 503
    assert "no registry at 0x000000000000000000000000000000000000dEaD" in error_of(response)["message"]
    # A client that was opened before the chain lost the registry answers the same way.
    unchecked = RegistryClient(
        web3=connect(ledger.settings.rpc_url),
        address=gone.address,
        abi=artifact.abi,
        chain_id=gone.chain_id,
        rpc_url=ledger.settings.rpc_url,
    )
    with pytest.raises(DeploymentError, match="no registry answers"):
        unchecked.inspect_latest("ab" * 32, "ab" * 32)
    stale.close()


def test_nesting_bombs_are_refused_before_parsing(client: TestClient) -> None:
    bomb = b"[" * 100_000 + b"]" * 100_000
    for path in ("/v1/verify", "/v1/verify/file", "/v1/obfuscate"):
        response = client.post(path, content=bomb, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (path, response.text)
    assert client.get("/health").status_code == 200  # the service is still up
    assert client.get("/v1/shares/%00").status_code == 404
