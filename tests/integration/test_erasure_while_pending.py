"""Erasing a document that still waits for its anchor: refused with 409 until it is anchored, then erased.

The README's "a document still waiting for its anchor is erased once anchored" means this: the
service does not remember an erasure asked too early; it answers 409 (ask again once anchored),
and changes nothing meanwhile. Queued (ACCEPTED) and sent-but-unmined (PENDING) are both checked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.settings import Settings
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.anchoring import settle
from ledger.usecases.batching import close_due_batches
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth, licence
from tests.integration.test_pipeline import rpc

ERASURE_WAITS = "erase it once it is anchored"


@pytest.fixture
def quiet(settings: Settings, moci: RegisteredAgency) -> Iterator[Ledger]:
    """The installation with the service's worker off (the test moves the pipeline on) and one document a batch."""
    context = Ledger(settings.model_copy(update={"pipeline_worker": False, "batch_documents": 1}))
    yield context
    context.close()


@pytest.fixture
def manual_mining(quiet: Ledger) -> Iterator[None]:
    """Anvil mines only when told, so an anchor can stay sent and unmined."""
    rpc(quiet, "evm_setAutomine", False)
    try:
        yield
    finally:
        rpc(quiet, "evm_setAutomine", True)


def test_a_document_waiting_for_its_anchor_is_refused_erasure_until_it_is_anchored(
    quiet: Ledger, moci: RegisteredAgency, manual_mining: None
) -> None:
    """DELETE while ACCEPTED and while PENDING: 409 naming the wait, and the document moves on
    untouched (no erasure is remembered: once ANCHORED its wrapped copy is still served). Then
    DELETE erases it: 410 for the copy from then on."""
    token = auth(moci.token)
    with TestClient(create_app(ledger=quiet), raise_server_exceptions=False) as client:
        accepted = client.post("/v1/documents?wait=false", json=licence("CL-2026-000321"), headers=token)
        assert accepted.status_code == 202, accepted.text
        target = accepted.json()["target_hash"]

        def stage() -> str:
            return str(client.get(f"/v1/documents/{target}").json()["stage"])

        def erase() -> tuple[int, str]:
            response = client.delete(f"/v1/documents/{target}", headers=token)
            return response.status_code, response.text

        assert stage() == "ACCEPTED"
        status, body = erase()
        assert (status, ERASURE_WAITS in body) == (409, True), f"erasing a queued document: {status} {body}"

        assert len(close_due_batches(quiet, "moci", now=time.time())) == 1  # signed and sent, not mined
        assert stage() == "PENDING"
        status, body = erase()
        assert (status, "ask again shortly" in body) == (409, True), f"erasing a pending document: {status} {body}"

        rpc(quiet, "evm_mine")
        settle(quiet, "moci")
        assert stage() == "ANCHORED"
        wrapped = client.get(f"/v1/documents/{target}/wrapped", headers=token)
        assert wrapped.status_code == 200, f"the refused erasures changed the document: {wrapped.text}"
        assert wrapped.json()["signature"]["targetHash"] == target

        assert erase()[0] == 200
        assert client.get(f"/v1/documents/{target}/wrapped", headers=token).status_code == 410
