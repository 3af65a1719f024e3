"""Bulk issuance through the real service, killed with SIGKILL again and again: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.errors import DocumentNotFoundError
from ledger.settings import Settings
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import create_api_key
from ledger.usecases.setup import ensure_deployment
from tests.integration.conftest import auth, licence
from tests.integration.test_pipeline import anchors_on_chain

KILLS = 20
TOKEN = "moci-fault-token"


def service_env(settings: Settings, api_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SIJILL_DATA_DIR": str(settings.data_dir),
        "SIJILL_RPC_URL": settings.rpc_url,
        "SIJILL_DATABASE_URL": settings.database,
        "SIJILL_API_PORT": str(api_port),
        "SIJILL_SEED_DEMO": "false",
        "SIJILL_BATCH_DOCUMENTS": "25",
        "SIJILL_BATCH_WAIT_MS": "50",
        "SIJILL_LEASE_SECONDS": "2",  # a killed worker's agency is taken over quickly
        "SIJILL_REPLACE_AFTER_SECONDS": "5",
    }


def start_service(settings: Settings, api_port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "sijill"), "up", "--no-chain"],
            env=service_env(settings, api_port),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=1).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the service did not start; see {log}")


class BulkClient(threading.Thread):
    """Posts batches of documents (wait=false) until stopped; keeps what the service accepted (202)."""

    def __init__(self, api_port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{api_port}/v1/documents/batch?wait=false"
        self.accepted: list[str] = []
        self.stopping = threading.Event()
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stopping.is_set():
                self.sent += 1
                documents = [
                    {"document_type": "commercial-licence", "fields": licence(f"CL-F{self.sent:05d}-{n:02d}")["fields"]}
                    for n in range(10)
                ]
                try:
                    response = client.post(self.url, json={"documents": documents}, headers=auth(TOKEN))
                except httpx.HTTPError:
                    time.sleep(0.05)  # killed mid-request: not accepted
                    continue
                if response.status_code == 202:
                    self.accepted += [item["target_hash"] for item in response.json()["documents"]]
                else:
                    time.sleep(0.05)


def test_sigkill_during_bulk_issuance_loses_and_doubles_nothing(tmp_path: Path) -> None:
    chain_port, api_port = free_port(), free_port()
    state = tmp_path / "chain.json"
    settings = Settings(data_dir=tmp_path, rpc_url=f"http://127.0.0.1:{chain_port}", seed_demo=False)
    log = tmp_path / "service.log"
    node = AnvilProcess(port=chain_port, state_file=state).start()
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
        for kill in range(KILLS):
            time.sleep(rng.uniform(0.1, 1.2))
            if kill in (6, 13):  # the chain restarts from its state file mid-issuance
                node.stop()
                time.sleep(0.3)
                node = AnvilProcess(port=chain_port, state_file=state).start()
            service.send_signal(signal.SIGKILL)
            service.wait()
            service = start_service(settings, api_port, log)
        client.stopping.set()
        client.join(10)
        assert len(client.accepted) >= 100, "too few documents accepted to mean anything"
        print(f"{KILLS} kills in {time.monotonic() - started:.1f} s: {len(client.accepted)} documents accepted")

        ledger = Ledger(settings)
        try:
            stages: Counter[str] = Counter()

            def all_anchored() -> bool:
                stages.clear()
                for target in client.accepted:
                    # The queue first: the running service moves documents from the queue to their
                    # batch in one transaction, so asking in this order never misses one in between.
                    if ledger.pipeline.get_queued(target) is not None:
                        stages["queued"] += 1
                        continue
                    try:
                        stages[ledger.store.find(target)[0].state] += 1
                    except DocumentNotFoundError:
                        stages["lost"] += 1
                return set(stages) == {"anchored"}

            deadline = time.monotonic() + 120
            while not all_anchored():
                assert "lost" not in stages, f"accepted documents were lost: {stages}"
                assert time.monotonic() < deadline, f"not every accepted document was anchored: {stages}"
                time.sleep(0.5)
            roots = {ledger.store.find(target)[0].root for target in client.accepted}
            on_chain = anchors_on_chain(ledger)
            doubled = {root: count for root, count in on_chain.items() if count != 1}
            assert not doubled, f"anchored more than once: {doubled}"
            assert roots <= set(on_chain), "a batch the store calls anchored is not on chain"
            # Every anchor on chain is a batch of the store, and each document is in exactly one of them.
            stored = {root for page in ledger.store.batch_summaries() for root, *_ in page}
            assert set(on_chain) <= stored
        finally:
            ledger.close()
    finally:
        if "service" in locals():
            service.send_signal(signal.SIGKILL)
            service.wait()
        node.stop()
