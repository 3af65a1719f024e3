"""`/metrics`: what an operator's Prometheus reads, with a `monitor` key, after real work on a real chain."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from ledger.domain import ReasonCode
from ledger.usecases.actors import Actor, Scope
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.status import Action, change_status
from tests.integration.conftest import auth, example


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels (parsed by prometheus-client's own parser)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape has no such sample."""
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def monitor_token(ledger: Ledger) -> str:
    """An installation key holding only the `monitor` scope, as Prometheus would scrape with."""
    return create_api_key(ledger, agency_id=None, scopes={Scope.MONITOR}, label="prometheus").token


def _licence(ledger: Ledger) -> dict[str, Any]:
    request = example("commercial-licence")
    batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])])
    return dict(batch.documents[0])


def test_a_monitor_key_reads_verdicts_node_answers_and_the_pipelines_state(
    ledger: Ledger, moci: RegisteredAgency, client: TestClient, monitor_token: str
) -> None:
    valid, revoked = _licence(ledger), _licence(ledger)
    change_status(ledger, Actor("moci"), revoked["signature"]["merkleRoot"], Action.REVOKE, ReasonCode.FRAUD)
    assert client.post("/v1/verify", json=valid).json()["status"] == "VALID"
    assert client.post("/v1/verify", json=revoked).json()["status"] == "REVOKED"
    assert client.post("/v1/verify", json=valid).json()["status"] == "VALID"

    response = client.get("/metrics", headers=auth(monitor_token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert value(text, "sijill_verdicts_total", status="VALID") == 2
    assert value(text, "sijill_verdicts_total", status="REVOKED") == 1
    endpoint = ledger.settings.rpc_url
    assert value(text, "sijill_node_request_seconds_count", endpoint=endpoint, outcome="ok") > 0
    assert value(text, "sijill_node_up", endpoint=endpoint) == 1
    assert value(text, "sijill_node_height", endpoint=endpoint) == ledger.registry.transactions.head()
    assert value(text, "sijill_queue_documents") == 0
    # Issued directly, each licence closed a batch of one.
    assert value(text, "sijill_batch_documents_count") == 2
    assert value(text, "sijill_batch_documents_sum") == 2
    assert value(text, "sijill_anchor_seconds_count") == 2  # final at one confirmation
    assert valid["signature"]["targetHash"] not in text  # no document is named


def test_an_agency_key_cannot_read_the_metrics(client: TestClient, moci: RegisteredAgency) -> None:
    response = client.get("/metrics", headers=auth(moci.token))
    assert response.status_code == 403
    assert "monitor" in response.json()["error"]["message"]


def test_rate_limit_refusals_are_counted_by_limit(ledger: Ledger, monitor_token: str) -> None:
    limited = ledger.settings.model_copy(update={"public_requests_per_minute": 3})
    context = Ledger(limited)
    try:
        with TestClient(create_app(ledger=context), raise_server_exceptions=False) as client:
            statuses = [client.get(f"/v1/documents/{'ab' * 32}").status_code for _ in range(5)]
            assert statuses == [404, 404, 404, 429, 429]
            text = client.get("/metrics", headers=auth(monitor_token)).text
    finally:
        context.close()
    assert value(text, "sijill_rate_limited_total", limit="address") == 2
    assert value(text, "sijill_rate_limited_total", limit="api_key") == 0
