"""The issuance pipeline on a real chain: queued, batched, anchored once, whatever fails."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.transactions import BroadcastRefusedError
from ledger.domain import Fees, ReasonCode, SignedTransaction
from ledger.errors import DocumentNotFoundError, QueueFullError
from ledger.settings import Settings
from ledger.store.outbox import NewBatch, Outbox
from ledger.store.repository import Store
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.anchoring import settle
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.batching import batch_due, close_due_batches
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, accept_documents, issue_documents
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.status import Action, change_status, get_record
from ledger.usecases.verify import verify_document
from ledger.usecases.worker import PipelineWorker, lease_name
from ledger.verification import VerificationStatus
from tests.integration.conftest import auth, licence


def requests_for(count: int, prefix: str = "CL-2026") -> list[IssueRequest]:
    return [IssueRequest("commercial-licence", licence(f"{prefix}-{n:06d}")["fields"]) for n in range(count)]


def rpc(ledger: Ledger, method: str, *params: Any) -> Any:
    response = ledger.registry._web3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


def anchored_on_chain(ledger: Ledger) -> list[tuple[str, int]]:
    """Every anchor on chain as (root, document count), read from the registry's `Anchored` events."""
    reader = ledger.registry.events(ledger.artifact.abi)
    return [
        (event.args["root"], event.args["documentCount"])
        for _last, events in reader.pages(ledger.deployment.block_number, reader.head())
        for event in events
        if event.name == "Anchored"
    ]


def anchors_on_chain(ledger: Ledger) -> Counter[str]:
    """How many times each root was anchored, read from the registry's events."""
    return Counter(root for root, _count in anchored_on_chain(ledger))


def wait_until(condition: Callable[[], bool], *, seconds: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come within {seconds} s"
        time.sleep(0.05)


def stage(ledger: Ledger, target: str) -> str:
    return str(get_record(ledger, target).as_dict()["stage"])


@pytest.fixture
def tuned(settings: Settings) -> Settings:
    return settings.model_copy(update={"batch_documents": 3, "batch_wait_ms": 100})


@pytest.fixture
def pipeline_ledger(tuned: Settings) -> Iterator[Ledger]:
    context = Ledger(tuned)
    register_agency(context, "moci", "Ministry of Commerce")
    add_issuer_key(context, "moci")
    yield context
    context.close()


@pytest.fixture
def manual_mining(pipeline_ledger: Ledger) -> Iterator[None]:
    rpc(pipeline_ledger, "evm_setAutomine", False)
    try:
        yield
    finally:
        rpc(pipeline_ledger, "evm_setAutomine", True)


def test_a_batch_is_due_at_its_size_or_its_age() -> None:
    assert not batch_due(0, 10_000, size=3, wait_ms=100)
    assert not batch_due(2, 99, size=3, wait_ms=100)
    assert batch_due(2, 100, size=3, wait_ms=100)
    assert batch_due(3, 0, size=3, wait_ms=100)


def test_queued_documents_are_batched_anchored_and_verify(pipeline_ledger: Ledger) -> None:
    with TestClient(create_app(ledger=pipeline_ledger), raise_server_exceptions=False) as client:
        token = "moci-pipeline-token"
        create_api_key(pipeline_ledger, agency_id="moci", token=token)
        accepted = []
        for request in requests_for(5):
            body = {"document_type": request.document_type, "fields": request.fields}
            response = client.post("/v1/documents?wait=false", json=body, headers=auth(token))
            assert response.status_code == 202, response.text
            assert response.json()["stage"] == "ACCEPTED"
            assert response.headers["Location"] == response.json()["status_url"]
            accepted.append(response.json())
        for item in accepted:
            wait_until(lambda item=item: client.get(item["status_url"]).json()["stage"] == "ANCHORED", what="ANCHORED")
        roots = Counter(client.get(item["status_url"]).json()["merkle_root"] for item in accepted)
        assert sorted(roots.values()) == [2, 3]  # a full batch of 3, then the last 2 after 100 ms
        assert all(anchors_on_chain(pipeline_ledger)[root] == 1 for root in roots)
        document = client.get(accepted[0]["document_url"], headers=auth(token)).json()
        verdict = client.post("/v1/verify", json=document).json()
        assert verdict["status"] == "VALID", verdict


def test_a_document_waiting_for_its_batch_has_no_proof_yet(pipeline_ledger: Ledger) -> None:
    quiet = pipeline_ledger.settings.model_copy(update={"pipeline_worker": False})
    with TestClient(create_app(ledger=Ledger(quiet)), raise_server_exceptions=False) as client:
        create_api_key(pipeline_ledger, agency_id="moci", token="moci-pipeline-token")
        request = requests_for(1)[0]
        body = {"document_type": request.document_type, "fields": request.fields}
        accepted = client.post("/v1/documents?wait=false", json=body, headers=auth("moci-pipeline-token")).json()
        assert client.get(accepted["status_url"]).json()["stage"] == "ACCEPTED"
        response = client.get(accepted["document_url"], headers=auth("moci-pipeline-token"))
        assert response.status_code == 409
        assert "waits for its batch" in response.json()["error"]["message"]


def test_a_full_queue_is_refused_with_503_and_retry_after(pipeline_ledger: Ledger) -> None:
    small = pipeline_ledger.settings.model_copy(update={"queue_limit": 2, "pipeline_worker": False})
    with TestClient(create_app(ledger=Ledger(small)), raise_server_exceptions=False) as client:
        create_api_key(pipeline_ledger, agency_id="moci", token="moci-pipeline-token")
        bodies = [{"document_type": r.document_type, "fields": r.fields} for r in requests_for(3)]
        for body in bodies[:2]:
            assert (
                client.post("/v1/documents?wait=false", json=body, headers=auth("moci-pipeline-token")).status_code
                == 202
            )
        refused = client.post("/v1/documents?wait=false", json=bodies[2], headers=auth("moci-pipeline-token"))
        assert refused.status_code == 503
        assert refused.headers["Retry-After"]
        assert "waiting to be anchored" in refused.json()["error"]["message"]
    with pytest.raises(QueueFullError):
        accept_documents(Ledger(small), "moci", requests_for(1, "CL-2027"))


@pytest.mark.anvil_only  # anvil_dropTransaction
def test_a_dropped_transaction_is_broadcast_again(pipeline_ledger: Ledger, manual_mining: None) -> None:
    accepted = accept_documents(pipeline_ledger, "moci", requests_for(3))
    (root,) = close_due_batches(pipeline_ledger, "moci", now=time.time())
    (row,) = pipeline_ledger.outbox.transactions_of(root)
    assert stage(pipeline_ledger, accepted[0]["signature"]["targetHash"]) == "PENDING"
    rpc(pipeline_ledger, "anvil_dropTransaction", row.tx_hash)
    assert pipeline_ledger.registry.transactions.known([row.tx_hash]) == set()
    assert settle(pipeline_ledger, "moci").broadcast == 1  # the same signed bytes, again
    assert pipeline_ledger.registry.transactions.known([row.tx_hash]) == {row.tx_hash}
    rpc(pipeline_ledger, "evm_mine")
    assert settle(pipeline_ledger, "moci").final == 1
    assert stage(pipeline_ledger, accepted[0]["signature"]["targetHash"]) == "ANCHORED"
    assert anchors_on_chain(pipeline_ledger)[root] == 1


def test_an_unmined_anchor_is_replaced_with_higher_fees_by_rule(pipeline_ledger: Ledger, manual_mining: None) -> None:
    eager = Ledger(pipeline_ledger.settings.model_copy(update={"replace_after_seconds": 0.2}))
    accept_documents(eager, "moci", requests_for(3))
    (root,) = close_due_batches(eager, "moci", now=time.time())
    assert settle(eager, "moci").replaced == 0  # not yet overdue
    time.sleep(0.3)
    assert settle(eager, "moci").replaced == 1
    first, second = eager.outbox.transactions_of(root)
    assert first.nonce == second.nonce
    assert int(second.max_fee) > int(first.max_fee)
    assert int(second.priority_fee) > int(first.priority_fee)
    rpc(eager, "evm_mine")
    settle(eager, "moci")
    states = sorted(row.state for row in eager.outbox.transactions_of(root))
    assert states == ["final", "superseded"]
    assert anchors_on_chain(eager)[root] == 1
    eager.close()


def test_an_anchor_recorded_before_a_crash_is_sent_by_the_next_worker(pipeline_ledger: Ledger) -> None:
    """The process dies after recording the signed anchor and before broadcasting it."""
    accepted = accept_documents(pipeline_ledger, "moci", requests_for(3))
    client = pipeline_ledger.registry.transactions
    real = client.broadcast
    client.broadcast = lambda raw: None  # type: ignore[method-assign]  # never reaches the node
    try:
        (root,) = close_due_batches(pipeline_ledger, "moci", now=time.time())
    finally:
        client.broadcast = real  # type: ignore[method-assign]
    assert (
        pipeline_ledger.registry.transactions.known([pipeline_ledger.outbox.transactions_of(root)[0].tx_hash]) == set()
    )
    restarted = Ledger(pipeline_ledger.settings)
    worker = PipelineWorker(restarted)  # one worker: a second would wait for the first one's lease
    worker.run_once()  # broadcasts
    worker.run_once()  # sees it mined
    assert stage(restarted, accepted[0]["signature"]["targetHash"]) == "ANCHORED"
    assert anchors_on_chain(restarted)[root] == 1
    restarted.close()


def test_one_worker_at_a_time_holds_an_agency(database_url: str, tmp_path: Path, settings: Settings) -> None:
    shared = settings.model_copy(update={"database_url": database_url, "lease_seconds": 30.0})
    first, second = Ledger(shared), Ledger(shared)
    try:
        register_agency(first, "moci", "Ministry of Commerce")
        add_issuer_key(first, "moci")
        accept_documents(first, "moci", requests_for(1))
        one, two = PipelineWorker(first, owner="one"), PipelineWorker(second, owner="two")
        one.run_once()
        two.run_once()
        assert first.leases.owner(lease_name("moci"), now=time.time()) == "one"
        one.stop()  # a clean stop hands the agency over at once
        accept_documents(second, "moci", requests_for(1, "CL-2027"))
        two.run_once()
        assert second.leases.owner(lease_name("moci"), now=time.time()) == "two"
        # A worker that died keeps its lease until it runs out; then another takes the agency.
        assert not first.leases.acquire(lease_name("moci"), "three", seconds=1, now=time.time())
        assert first.leases.acquire(lease_name("moci"), "three", seconds=1, now=time.time() + 31)
    finally:
        first.close()
        second.close()


def test_fifty_concurrent_issues_from_three_agencies_race_for_no_nonce(database_url: str, settings: Settings) -> None:
    shared = Ledger(settings.model_copy(update={"database_url": database_url}))
    try:
        agencies = ["moci", "mme", "qu"]
        for agency in agencies:
            register_agency(shared, agency, agency.upper())
            add_issuer_key(shared, agency)

        def issue(n: int) -> str:
            agency = agencies[n % 3]
            batch = issue_documents(shared, agency, requests_for(1, f"CL-{agency.upper()}-{n}"))
            return batch.merkle_root

        with ThreadPoolExecutor(max_workers=10) as pool:
            roots = list(pool.map(issue, range(50)))
        assert len(set(roots)) == 50
        counts = anchors_on_chain(shared)
        assert all(counts[root] == 1 for root in roots)
        nonces = [(row.key_address, row.nonce) for root in roots for row in shared.outbox.transactions_of(root)]
        assert len(nonces) == len(set(nonces)) == 50
    finally:
        shared.close()


@pytest.fixture
def own_chain(tmp_path: Path) -> Iterator[tuple[Settings, AnvilProcess]]:
    """A chain of this test's own, mining a block every second (as a permissioned network does)."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        rpc_url=f"http://127.0.0.1:{port}",
        seed_demo=False,
        confirmations=3,
        receipt_timeout_seconds=20,
        batch_wait_ms=0,
    )
    with AnvilProcess(port=port, extra_args=("--block-time", "1")) as node:
        ledger = Ledger(settings)
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        ledger.close()
        yield settings, node


@pytest.mark.anvil_only  # an Anvil of its own, mining every second
def test_anchored_only_after_the_confirmations(own_chain: tuple[Settings, AnvilProcess]) -> None:
    settings, _node = own_chain
    ledger = Ledger(settings)
    try:
        batch = issue_documents(ledger, "moci", requests_for(1))
        target = batch.documents[0]["signature"]["targetHash"]
        assert stage(ledger, target) == "PENDING"  # mined, one confirmation of three
        wait_until(lambda: settle(ledger, "moci").final == 1, seconds=10, what="three confirmations")
        assert ledger.registry.transactions.head() >= batch.receipt.block_number + 2
        assert stage(ledger, target) == "ANCHORED"
    finally:
        ledger.close()


@pytest.mark.anvil_only  # anvil_reorg
@pytest.mark.parametrize("final_first", [False, True], ids=["short of its confirmations", "final already"])
def test_a_reorg_that_drops_the_anchor_sends_it_again_once(
    own_chain: tuple[Settings, AnvilProcess], final_first: bool
) -> None:
    """A reorg that removes the anchor's block takes it back to PENDING, and it is anchored again, once;
    also when it was final already (a reorg as deep as the confirmations, or a chain restored from an
    older state)."""
    settings, _node = own_chain
    ledger = Ledger(settings)
    try:
        batch = issue_documents(ledger, "moci", requests_for(1))
        target, root = batch.documents[0]["signature"]["targetHash"], batch.merkle_root
        if final_first:
            wait_until(lambda: settle(ledger, "moci").final == 1, seconds=15, what="the anchor's confirmations")
            assert stage(ledger, target) == "ANCHORED"
            assert ledger.outbox.transactions_of(root)[0].state == "final"
        rpc(ledger, "evm_setIntervalMining", 0)  # hold the chain still while it is rewritten
        depth = ledger.registry.transactions.head() - batch.receipt.block_number + 1
        assert not final_first or depth >= settings.confirmations  # the reorg reaches past what made it final
        rpc(ledger, "anvil_reorg", depth, [])  # the anchor's block is replaced
        (row,) = ledger.outbox.transactions_of(root)
        assert ledger.registry.transactions.inclusions([row.tx_hash])[row.tx_hash] is None
        assert settle(ledger, "moci").reorged == 1
        assert stage(ledger, target) == "PENDING"
        rpc(ledger, "evm_setIntervalMining", 1)
        wait_until(lambda: settle(ledger, "moci").final == 1, seconds=15, what="the anchor mined again")
        assert stage(ledger, target) == "ANCHORED"
        assert anchors_on_chain(ledger)[root] == 1
    finally:
        ledger.close()


@pytest.mark.anvil_only  # anvil_reorg
def test_a_lost_anchor_whose_document_was_revoked_since_is_held_and_never_verifies_valid(
    own_chain: tuple[Settings, AnvilProcess],
) -> None:
    """The chain loses a final anchor and the revocation after it: sending the anchor again would bring
    the document back VALID, so both are held for an operator and the document reads NOT_ISSUED, not VALID."""
    settings, _node = own_chain
    ledger = Ledger(settings)
    try:
        batch = issue_documents(ledger, "moci", requests_for(2))
        document = batch.documents[0]
        target, root = document["signature"]["targetHash"], batch.merkle_root
        wait_until(lambda: settle(ledger, "moci").final == 1, seconds=15, what="the anchor's confirmations")
        change_status(ledger, Actor("moci"), target, Action.REVOKE, ReasonCode.FRAUD)
        assert verify_document(ledger, document).status is VerificationStatus.REVOKED
        rpc(ledger, "evm_setIntervalMining", 0)
        rpc(ledger, "anvil_reorg", ledger.registry.transactions.head() - batch.receipt.block_number + 1, [])
        assert settle(ledger, "moci").reorged == 2  # the anchor, and the revocation after it
        (row,) = ledger.outbox.transactions_of(root)
        assert row.state == "held", row.state
        (revocation,) = ledger.outbox.signatures(row.key_address, row.nonce + 1)
        assert revocation.state == "held"  # it could not land without the anchor, and must not after it
        record = get_record(ledger, target).as_dict()
        assert (record["stage"], "held" in record["issuance_error"]) == ("PENDING", True)
        rpc(ledger, "evm_setIntervalMining", 1)
        settle(ledger, "moci")  # a round of the worker: nothing is sent again
        head = ledger.registry.transactions.head()
        wait_until(lambda: ledger.registry.transactions.head() >= head + 2, what="two more blocks")
        assert anchors_on_chain(ledger).get(root) is None
        assert verify_document(ledger, document).status is VerificationStatus.NOT_ISSUED
    finally:
        ledger.close()


@pytest.mark.anvil_only  # an Anvil of its own, restarted from its state file
def test_documents_accepted_while_the_chain_is_down_are_anchored_when_it_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker takes the agency and tries its batch while the chain is down (it says why it waits, and
    the documents stay ACCEPTED); once the chain is back, the four documents are anchored in one batch."""
    port = free_port()
    state = tmp_path / "chain.json"
    settings = Settings(data_dir=tmp_path, rpc_url=f"http://127.0.0.1:{port}", seed_demo=False, batch_wait_ms=0)
    with AnvilProcess(port=port, state_file=state):
        ledger = Ledger(settings)
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        ledger.close()
    caplog.set_level(logging.WARNING, logger="ledger.usecases.worker")
    ledger = Ledger(settings)  # the chain is down now
    worker = PipelineWorker(ledger).start()
    try:
        accepted = accept_documents(ledger, "moci", requests_for(4))

        def waits() -> list[str]:
            return [record.getMessage() for record in caplog.records if "agency moci waits" in record.getMessage()]

        wait_until(lambda: bool(waits()), what="the worker's attempt at the batch")
        assert f"the chain at {settings.rpc_url} cannot be reached" in waits()[0], waits()[0]
        owner = ledger.leases.owner(lease_name("moci"), now=time.time())
        assert owner == worker.owner, f"expected the worker {worker.owner} to hold the agency, found {owner}"
        stages = Counter(stage(ledger, item["signature"]["targetHash"]) for item in accepted)
        assert stages == {"ACCEPTED": 4}, f"expected the 4 documents ACCEPTED while the chain is down, found {stages}"
        with AnvilProcess(port=port, state_file=state):  # back, from its state file
            wait_until(
                lambda: all(stage(ledger, item["signature"]["targetHash"]) == "ANCHORED" for item in accepted),
                what="issuance to resume",
            )
            anchors = anchored_on_chain(ledger)
            assert [count for _root, count in anchors] == [4], f"expected one anchor of 4 documents, found {anchors}"
    finally:
        worker.stop()
        ledger.close()


def test_a_refused_fee_bump_never_leads_to_a_second_nonce(pipeline_ledger: Ledger, manual_mining: None) -> None:
    """The node refuses the higher-fee signature for good while the first one is pending: wait for the first."""
    eager = Ledger(pipeline_ledger.settings.model_copy(update={"replace_after_seconds": 0.1}))
    accepted = accept_documents(eager, "moci", requests_for(3))
    (root,) = close_due_batches(eager, "moci", now=time.time())
    (first,) = eager.outbox.transactions_of(root)
    client = eager.registry.transactions
    real = client.broadcast

    def refuse_the_others(raw: str) -> None:
        if raw != first.raw:
            raise BroadcastRefusedError("insufficient funds for gas * price + value", nonce_used=False)
        real(raw)

    client.broadcast = refuse_the_others  # type: ignore[method-assign]
    try:
        time.sleep(0.2)
        for _ in range(3):
            settle(eager, "moci")
    finally:
        client.broadcast = real  # type: ignore[method-assign]
    assert {row.nonce for row in eager.outbox.transactions_of(root)} == {first.nonce}
    rpc(eager, "evm_mine")
    settle(eager, "moci")
    assert stage(eager, accepted[0]["signature"]["targetHash"]) == "ANCHORED"
    assert anchors_on_chain(eager)[root] == 1
    eager.close()


def test_a_batch_refused_for_its_expiry_fails_plainly_and_the_queue_moves_on(pipeline_ledger: Ledger) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=60)
    (doomed,) = accept_documents(
        pipeline_ledger,
        "moci",
        [IssueRequest("commercial-licence", licence("CL-SOON-0001")["fields"], expires_at=soon)],
    )
    (fine,) = accept_documents(pipeline_ledger, "moci", requests_for(1, "CL-LATER"))
    rpc(pipeline_ledger, "evm_increaseTime", 3600)  # the expiry passes while the document waits
    rpc(pipeline_ledger, "evm_mine")
    far = time.time() + 3600
    close_due_batches(pipeline_ledger, "moci", now=far)  # refused: recorded as failed, off the queue
    close_due_batches(pipeline_ledger, "moci", now=far)  # the next document gets its batch
    with pytest.raises(DocumentNotFoundError, match="not in the future"):
        get_record(pipeline_ledger, doomed["signature"]["targetHash"])
    target = fine["signature"]["targetHash"]

    def anchored() -> bool:  # the worker's rounds: a send the node did not take at once is sent again
        settle(pipeline_ledger, "moci")
        return stage(pipeline_ledger, target) == "ANCHORED"

    wait_until(anchored, seconds=10, what="the next document ANCHORED")


def test_two_processes_never_take_the_same_nonce(tmp_path: Path) -> None:
    """Two stores on one SQLite file (as two service processes), allocating at once."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Store.open(url), Store.open(url)
    first.add_agency("moci", "M", None, None)
    first.add_key(address="0xkey", agency_id="moci", encrypted_key="-", valid_from=0, valid_until=1, tx_hash=None)

    def allocate(store: Store, prefix: str) -> list[int]:
        nonces = []
        for n in range(25):
            root = f"{prefix}{n:062x}"
            batch = NewBatch(root=root, agency_id="moci", key_address="0xkey", expires_at=None, documents=[])
            row = Outbox(store).record_anchor(
                batch,
                chain_nonce=0,
                sign=lambda nonce, root=root: (SignedTransaction(raw="0x00", tx_hash="0x" + root), Fees(2, 1)),
                now=time.time(),
            )
            nonces.append(row.nonce)
        return nonces

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(allocate, [first, second], ["aa", "bb"]))
    everything = results[0] + results[1]
    assert sorted(everything) == list(range(50))
    first.close()
    second.close()
