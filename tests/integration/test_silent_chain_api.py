"""A chain node that hangs (accepts, never answers) is a 503 with `Retry-After` through the API, not a hung request.

The service runs under uvicorn on 127.0.0.1, as `sijill up` serves it, over the installation's
store; only its chain node is silent. Each answer must come within a few RPC timeouts
(`SIJILL_RPC_TIMEOUT_SECONDS`): a timed-out chain call is not tried again, so the setting bounds
how long a request waits on a hanging node.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.server import uvicorn_options
from ledger.chain.anvil import free_port
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth, example
from tests.integration.silent_node import SilentNode

TIMEOUT = 1.0  # SIJILL_RPC_TIMEOUT_SECONDS
# A request here makes at most two chain calls in a row (the deployment check on first use, then
# its read), each ending at the timeout: the answer must come within a few timeouts, not after
# retries of retries. A deadline for progress, far above the two seconds it takes.
BOUND = 6 * TIMEOUT


@pytest.fixture
def issued(client: TestClient, moci: RegisteredAgency) -> dict[str, Any]:
    """A licence issued and anchored while the chain still answered."""
    response = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def hanging_service(ledger: Ledger) -> Iterator[str]:
    """The base URL of the service over the same installation (store, registry, keys), its chain node silent."""
    node = SilentNode()
    hanging = Ledger(ledger.settings.model_copy(update={"rpc_url": node.url, "rpc_timeout_seconds": TIMEOUT}))
    port = free_port()
    config = uvicorn.Config(
        create_app(ledger=hanging),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
        **uvicorn_options(""),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sijill-api-silent-chain", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "the service stopped while starting"
            assert time.monotonic() < deadline, "the service did not start within 20 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        node.close()  # first: a request a failed test left waiting on the node ends at once
        server.should_exit = True
        thread.join(10)
        hanging.close()


def _answer(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return httpx.request(method, url, timeout=BOUND, **kwargs)
    except httpx.TimeoutException:
        pytest.fail(f"{method} {url} had no answer within {BOUND} s with an RPC timeout of {TIMEOUT} s")


def test_verifying_against_a_silent_node_answers_503_with_retry_after(
    issued: dict[str, Any], hanging_service: str
) -> None:
    """POST /v1/verify of a genuine document: 503 `chain_unavailable` with Retry-After, within the
    bound; never a verdict (the chain was not read)."""
    response = _answer("POST", f"{hanging_service}/v1/verify", json=issued["document"])
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit(), response.headers
    error = response.json()["error"]
    assert error["code"] == "chain_unavailable", error
    assert "cannot be reached" in error["message"], error
    assert "status" not in response.json(), "a verdict was given without the chain"


def test_a_record_read_against_a_silent_node_answers_503(issued: dict[str, Any], hanging_service: str) -> None:
    """GET /v1/documents/{hash} reads the live status on chain: 503 with Retry-After, within the bound."""
    response = _answer("GET", f"{hanging_service}/v1/documents/{issued['target_hash']}")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit(), response.headers
    assert response.json()["error"]["code"] == "chain_unavailable", response.json()


def test_health_names_the_silent_chain_and_answers_503(hanging_service: str) -> None:
    """GET /health: 503 within the bound, the chain unavailable, the store still fine."""
    response = _answer("GET", f"{hanging_service}/health")
    assert response.status_code == 503, response.text
    report = response.json()
    assert (report["chain"]["status"], report["store"]["status"]) == ("unavailable", "ok"), report
