"""Bulk issuance through the real service, its processes killed with SIGKILL again and again, its chain
killed too and restarted from an older state: what the chain holds is every acknowledged document, once."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.documents.salt import unsalt_data
from ledger.errors import DocumentNotFoundError
from ledger.settings import Settings
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.verify import verify_document
from ledger.usecases.worker import agencies_with_work
from tests.integration.conftest import auth, licence
from tests.integration.test_pipeline import anchored_on_chain, rpc, wait_until

pytestmark = pytest.mark.anvil_only  # Anvil nodes of its own, killed and restarted from their state files


KILLS = 10  # each restart of the two service processes takes some 8 s on two cores
CHAIN_LOSSES = (3, 7)  # at these kills the chain dies too, some anchors after the test saved its state
STATE_INTERVAL = 3600  # Anvil's own periodic save, kept out of the way (see `save_the_chain`)
LOSS_WINDOW = 3.0  # seconds, at most, for anchors to be mined between the save and the kill
API_SAMPLE = 200  # acknowledged documents verified through POST /v1/verify (all of them through the core)
TOKEN = "moci-fault-token"
NUMBER = re.compile(r"CL-F\d{5}-\d{2}")


def service_env(settings: Settings, api_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SIJILL_DATA_DIR": str(settings.data_dir),
        "SIJILL_RPC_URL": settings.rpc_url,
        "SIJILL_DATABASE_URL": settings.database,
        "SIJILL_API_PORT": str(api_port),
        "SIJILL_API_WORKERS": "2",  # as the benchmarks run it: two processes, each with its worker
        "SIJILL_SEED_DEMO": "false",
        "SIJILL_BATCH_DOCUMENTS": "25",
        "SIJILL_BATCH_WAIT_MS": "50",
        "SIJILL_LEASE_SECONDS": "2",  # a killed worker's agency is taken over quickly
        "SIJILL_REPLACE_AFTER_SECONDS": "5",
    }


def start_service(settings: Settings, api_port: int, log: Path) -> subprocess.Popen[bytes]:
    """`sijill up --no-chain` in a process group of its own (its service processes with it)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "sijill"), "up", "--no-chain"],
            env=service_env(settings, api_port),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=1).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    kill_service(process)
    raise AssertionError(f"the service did not start within 60 s; see {log}")


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting for their reaper do not)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def kill_service(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group at once, and wait until none of it runs."""
    with contextlib.suppress(ProcessLookupError):  # killed already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    wait_until(lambda: not group_alive(process.pid), seconds=10, what="the service's processes to die")


@dataclass(frozen=True)
class ChainLoss:
    """A chain killed and restarted from its state file: its head and anchors before and after."""

    head_before: int
    head_after: int
    roots_before: frozenset[str]
    roots_after: frozenset[str]

    @property
    def lost_anchors(self) -> int:
        return len(self.roots_before - self.roots_after)


def roots_on_chain(settings: Settings) -> tuple[int, frozenset[str]]:
    """The chain's head and the roots anchored up to it."""
    ledger = Ledger(settings)
    try:
        head = ledger.registry.transactions.head()
        return head, frozenset(root for root, _count in anchored_on_chain(ledger))
    finally:
        ledger.close()


def save_the_chain(settings: Settings, state: Path) -> frozenset[str]:
    """Write the chain's state to `state`, whole: mining held while Anvil dumps it; the roots it holds.

    Anvil's own periodic save is not atomic: a dump taken while a block is mined can hold the
    block's accounts and storage without the block (a nonce used and a root anchored that no
    block or event shows), a chain no real node would ever present. So the test saves the chain
    itself, between blocks, and keeps Anvil's periodic save out of the way (`STATE_INTERVAL`).
    """
    ledger = Ledger(settings)
    try:
        rpc(ledger, "evm_setAutomine", False)
        try:
            time.sleep(0.2)  # a block being mined as mining stopped is done
            dump = rpc(ledger, "anvil_dumpState")
            saved = frozenset(root for root, _count in anchored_on_chain(ledger))
        finally:
            rpc(ledger, "evm_setAutomine", True)
    finally:
        ledger.close()
    written = state.with_suffix(".part")
    written.write_bytes(gzip.decompress(bytes.fromhex(dump.removeprefix("0x"))))
    written.replace(state)
    return saved


def lose_the_latest_blocks(
    node: AnvilProcess, state: Path, service: subprocess.Popen[bytes], settings: Settings
) -> tuple[AnvilProcess, ChainLoss]:
    """Save the chain, let anchors be mined after the save, then kill the service and the chain with
    SIGKILL and restart the chain from the save: the blocks mined since are gone, as the store recorded
    them anchored (and final, at one confirmation)."""
    at_save = save_the_chain(settings, state)
    # Issuance goes on: wait for anchors mined after the save (a restarted service first waits out its
    # predecessor's lease).
    deadline = time.monotonic() + LOSS_WINDOW
    while time.monotonic() < deadline and len(roots_on_chain(settings)[1]) < len(at_save) + 3:
        time.sleep(0.1)
    kill_service(service)
    head_before, roots_before = roots_on_chain(settings)
    node.kill()
    node = AnvilProcess(port=node.port, state_file=state, state_interval=STATE_INTERVAL).start()
    head_after, roots_after = roots_on_chain(settings)
    return node, ChainLoss(head_before, head_after, roots_before, roots_after)


class BulkClient(threading.Thread):
    """Posts batches of documents (wait=false) until stopped.

    It keeps the documents the service acknowledged (202), and the licence numbers of the requests
    whose answer was lost with the service (those documents may have been accepted, or not).
    """

    def __init__(self, api_port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{api_port}/v1/documents/batch?wait=false"
        self.accepted: list[str] = []
        self.unanswered: set[str] = set()
        self.stopping = threading.Event()
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stopping.is_set():
                self.sent += 1
                numbers = [f"CL-F{self.sent:05d}-{n:02d}" for n in range(10)]
                documents = [
                    {"document_type": "commercial-licence", "fields": licence(number)["fields"]} for number in numbers
                ]
                try:
                    response = client.post(self.url, json={"documents": documents}, headers=auth(TOKEN))
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    time.sleep(0.05)  # no service to reach: not accepted
                    continue
                except httpx.HTTPError:
                    self.unanswered.update(numbers)  # killed mid-request: accepted or not, nobody was told
                    time.sleep(0.05)
                    continue
                if response.status_code == 202:
                    self.accepted += [item["target_hash"] for item in response.json()["documents"]]
                else:
                    time.sleep(0.05)


def stages(ledger: Ledger, targets: list[str]) -> Counter[str]:
    """Where the store has each document: queued, in a batch of some state, or nowhere ("lost")."""
    found: Counter[str] = Counter()
    for target in targets:
        # The queue first: the running service moves documents from the queue to their batch
        # in one transaction, so asking in this order never misses one in between.
        if ledger.queue.get(target) is not None:
            found["queued"] += 1
            continue
        try:
            found[ledger.store.find(target)[0].state] += 1
        except DocumentNotFoundError:
            found["lost"] += 1
    return found


def licence_number(wrapped: dict[str, Any]) -> str:
    """The licence number a wrapped document carries (its fields are salted)."""
    match = NUMBER.search(json.dumps(unsalt_data(wrapped["data"])))
    assert match, f"no licence number in {wrapped['data']}"
    return match.group()


def wait_for_the_end_of_work(ledger: Ledger, acknowledged: list[str], *, seconds: float = 120) -> None:
    """Until the store has nothing queued and no anchor not final (a deadline for progress, not a speed)."""
    deadline = time.monotonic() + seconds
    while agencies_with_work(ledger):
        assert time.monotonic() < deadline, (
            f"expected the service to finish its work within {seconds:.0f} s, found the acknowledged documents "
            f"{dict(stages(ledger, acknowledged))}"
        )
        time.sleep(0.5)


def accepted_unanswered(ledger: Ledger, acknowledged: set[str], unanswered: set[str]) -> dict[str, dict[str, Any]]:
    """The wrapped documents the store holds that nobody was told were accepted (by target hash).

    Each must come from a request whose answer was lost when the service was killed.
    """
    extra: dict[str, dict[str, Any]] = {}
    for page in ledger.store.document_summaries():
        for target, *_ in page:
            if target not in acknowledged:
                document = ledger.store.get_document(target)
                assert document is not None
                extra[target] = document.wrapped
    unexplained = sorted(target for target, wrapped in extra.items() if licence_number(wrapped) not in unanswered)
    assert not unexplained, f"expected no document that no request whose answer was lost sent, found {unexplained}"
    return extra


def core_verdicts(ledger: Ledger, targets: set[str]) -> tuple[Counter[str], list[str]]:
    """The verdict of each document, its wrapped form from the store, verified against the chain by the core."""
    verdicts: Counter[str] = Counter()
    failing: list[str] = []
    for target in sorted(targets):
        document = ledger.store.get_document(target)
        verdict = verify_document(ledger, document.wrapped).status.value if document else "not in the store"
        verdicts[verdict] += 1
        if verdict != "VALID":
            failing.append(target)
    return verdicts, failing


def api_verdicts(api_port: int, targets: list[str]) -> Counter[str]:
    """The verdicts of POST /v1/verify on the documents as the agency fetches them (GET .../wrapped)."""
    verdicts: Counter[str] = Counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as http:
        for target in targets:
            wrapped = http.get(f"/v1/documents/{target}/wrapped", headers=auth(TOKEN))
            assert wrapped.status_code == 200, f"expected the wrapped document of {target}, found {wrapped.text}"
            verdicts[http.post("/v1/verify", json=wrapped.json()).json()["status"]] += 1
    return verdicts


def test_sigkill_and_a_chain_losing_blocks_leave_every_acknowledged_document_on_chain_once(tmp_path: Path) -> None:
    """Judged from the chain after the kills: the anchors' document counts add up to the documents accepted,
    every acknowledged document verifies VALID (all through the core, a sample through POST /v1/verify), no
    anchor is unknown to the store; and a restart of the chain really lost mined anchors (sent again since)."""
    chain_port, api_port = free_port(), free_port()
    state = tmp_path / "chain.json"
    settings = Settings(data_dir=tmp_path, rpc_url=f"http://127.0.0.1:{chain_port}", seed_demo=False)
    log = tmp_path / "service.log"
    node = AnvilProcess(port=chain_port, state_file=state, state_interval=STATE_INTERVAL).start()
    service: subprocess.Popen[bytes] | None = None
    try:
        ledger = Ledger(settings)
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        create_api_key(ledger, agency_id="moci", token=TOKEN)
        ledger.close()

        client = BulkClient(api_port)
        rng = random.Random(2026)
        started = time.monotonic()
        service = start_service(settings, api_port, log)
        print(f"service up in {time.monotonic() - started:.1f} s")
        client.start()
        losses: list[ChainLoss] = []
        for kill in range(KILLS):
            time.sleep(rng.uniform(0.1, 1.2))
            if kill in CHAIN_LOSSES:
                node, loss = lose_the_latest_blocks(node, state, service, settings)
                losses.append(loss)
                print(f"chain back at block {loss.head_after} of {loss.head_before}: {loss.lost_anchors} anchors lost")
            else:
                kill_service(service)
            service = start_service(settings, api_port, log)
        time.sleep(2)  # a last stretch of issuance on the restarted chain and service
        client.stopping.set()
        client.join(10)
        acknowledged = set(client.accepted)
        print(
            f"{KILLS} kills in {time.monotonic() - started:.1f} s: {len(acknowledged)} documents acknowledged, "
            f"{len(client.unanswered)} in requests whose answer was lost"
        )
        assert len(acknowledged) >= 100, f"expected at least 100 documents acknowledged, found {len(acknowledged)}"
        assert len(acknowledged) == len(client.accepted), "expected each document acknowledged once, found repeats"
        assert any(loss.head_after < loss.head_before and loss.lost_anchors for loss in losses), (
            "expected a restart of the chain to lose mined anchors, found (head before, head after, anchors lost) "
            f"{[(loss.head_before, loss.head_after, loss.lost_anchors) for loss in losses]}"
        )

        ledger = Ledger(settings)
        try:
            wait_for_the_end_of_work(ledger, client.accepted)
            extra = accepted_unanswered(ledger, acknowledged, client.unanswered)
            anchors = anchored_on_chain(ledger)
            on_chain, expected = sum(count for _root, count in anchors), len(acknowledged) + len(extra)
            assert on_chain == expected, (
                f"expected {expected} documents anchored on chain ({len(acknowledged)} acknowledged, {len(extra)} "
                f"accepted by requests whose answer was lost), found {on_chain} in {len(anchors)} anchors"
            )
            roots = {root for root, _count in anchors}
            unknown = roots - ledger.store.known_roots(sorted(roots))
            assert not unknown, f"expected every root on chain to be a batch of the store, found unknown {unknown}"
            verdicts, failing = core_verdicts(ledger, acknowledged | set(extra))
            assert verdicts == {"VALID": expected}, (
                f"expected all {expected} documents VALID against the chain, found {dict(verdicts)}, e.g. {failing[:3]}"
            )
        finally:
            ledger.close()

        sample = random.Random(11).sample(sorted(acknowledged), min(API_SAMPLE, len(acknowledged)))
        verdicts = api_verdicts(api_port, sample)
        assert verdicts == {"VALID": len(sample)}, f"expected {len(sample)} VALID by POST /v1/verify, found {verdicts}"
    finally:
        if service is not None:
            kill_service(service)
        node.stop()
