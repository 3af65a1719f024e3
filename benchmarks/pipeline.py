"""The issuance pipeline's figures, each beside its baseline, on one fresh chain in one run.

    make bench            # or: .venv/bin/python benchmarks/pipeline.py [--documents 100000]

1. Issuance through the HTTP API (validate, wrap, store, anchor, confirm), from the first
   request until the last document is ANCHORED: the service queues documents (wait=false,
   100 per request, 4 client threads) and its worker anchors batches of up to 1,000. The
   ledger grows in stages to 10^3, 10^4 and 10^5 documents; each stage reports its rate, and
   the service's resident memory is sampled throughout. Baseline: the same service and
   client with one anchor per document (batches of 1).
2. Verification through POST /v1/verify under load from wrk (a second process, 2 threads,
   16 connections, 10 s) at each ledger size: requests/s and latency percentiles. Baseline:
   the same load as a direct `eth_call` of the registry's `inspect` to the node.
3. Gas per document: Sijill anchoring a batch of 1,000, and OpenAttestation's DocumentStore
   3.0.0 (from npm) deployed on the same chain doing the same (`issue` of the batch's root),
   plus each one's single revocation.

The service runs as `sijill up --no-chain` with two processes (`SIJILL_API_WORKERS=2`, one per
core) on 127.0.0.1, with SQLite; the baseline runs the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from web3 import Web3

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.documents.merkle import MerkleTree
from ledger.settings import DEV_ADMIN_PRIVATE_KEY, Settings
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import create_api_key
from ledger.usecases.setup import ensure_deployment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "examples" / "commercial-licence.json").read_text())
SIJILL = Path(sys.executable).parent / "sijill"
PER_REQUEST = 100
CLIENTS = 4


# --- the service ------------------------------------------------------------------------


@contextmanager
def service(folder: Path, node: AnvilProcess, **env: str) -> Iterator[tuple[str, int]]:
    """`sijill up --no-chain` on a free port; yields its base URL and process id."""
    port = free_port()
    variables = {
        **os.environ,
        "SIJILL_API_WORKERS": "2",
        "SIJILL_DATA_DIR": str(folder),
        "SIJILL_RPC_URL": node.url,
        "SIJILL_API_PORT": str(port),
        "SIJILL_SEED_DEMO": "false",
        # One client measures the service's ceiling: the limiters run, with limits it never reaches.
        "SIJILL_API_KEY_REQUESTS_PER_MINUTE": "1000000000",
        "SIJILL_PUBLIC_REQUESTS_PER_MINUTE": "1000000000",
        **env,
    }
    with (folder / "service.log").open("ab") as log:
        process = subprocess.Popen([str(SIJILL), "up", "--no-chain"], env=variables, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the service did not start: see {folder / 'service.log'}") from None
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(30)


def installation(folder: Path, node: AnvilProcess, agency: str, deployment: Path | None) -> str:
    """A store in `folder` with `agency`, its key and a token, on the chain's registry; returns the token."""
    folder.mkdir(parents=True, exist_ok=True)
    if deployment is not None:
        shutil.copy(deployment, folder / "deployment.json")
    ledger = Ledger(Settings(data_dir=folder, rpc_url=node.url, seed_demo=False))
    ensure_deployment(ledger, redeploy_if_lost=False)
    register_agency(ledger, agency, agency.upper())
    add_issuer_key(ledger, agency)
    token = f"{agency}-benchmark-token"
    create_api_key(ledger, agency_id=agency, token=token)
    ledger.close()
    return token


class Memory(threading.Thread):
    """Samples the resident memory of a process and all its children (the service's workers)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    @staticmethod
    def tree(pid: int) -> list[int]:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [pid] + [p for child in children.read().split() for p in Memory.tree(int(child))]

    @staticmethod
    def resident_mb(pid: int) -> float:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                self.samples.append(sum(self.resident_mb(pid) for pid in self.tree(self.pid)))
            except (FileNotFoundError, ProcessLookupError):
                continue  # a worker came or went between the listing and the reading


# --- 1. issuance ----------------------------------------------------------------------


def anchored_documents(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        query = "SELECT count(*) FROM documents d JOIN batches b ON b.root = d.batch_root WHERE b.state = 'anchored'"
        return int(connection.execute(query).fetchone()[0])


def issue(url: str, token: str, first: int, count: int, database: Path, done_before: int) -> float:
    """Post `count` documents (numbered from `first`) and wait until all are anchored; returns seconds."""

    def post(start: int, stop: int) -> None:
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
            for offset in range(start, stop, PER_REQUEST):
                documents = [
                    {
                        "document_type": "commercial-licence",
                        "fields": {**EXAMPLE["fields"], "licenceNumber": f"CL-B{n:08d}"},
                    }
                    for n in range(offset, min(stop, offset + PER_REQUEST))
                ]
                response = client.post("/v1/documents/batch?wait=false", json={"documents": documents})
                assert response.status_code == 202, response.text

    started = time.perf_counter()
    share = -(-count // CLIENTS)
    threads = [
        threading.Thread(target=post, args=(first + i * share, first + min(count, (i + 1) * share)))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while anchored_documents(database) < done_before + count:
        time.sleep(0.05)
    return time.perf_counter() - started


# --- 2. verification under load ------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""


def wrk(url: str, body: dict[str, Any], folder: Path, name: str) -> str:
    """Requests/s and latency percentiles of a POST of `body` to `url` under wrk's load."""
    (folder / f"{name}.json").write_text(json.dumps(body))
    script = folder / f"{name}.lua"
    script.write_text(WRK_SCRIPT.format(body=folder / f"{name}.json"))
    output = subprocess.run(
        ["wrk", "-t2", "-c16", "-d10s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failed = f", {errors.group(1)} failed" if errors else ""
    return f"{rate:,.0f} req/s, p50 {percentiles['50']}, p90 {percentiles['90']}, p99 {percentiles['99']}{failed}"


# --- 3. gas ------------------------------------------------------------------------------


def gas(node: AnvilProcess, ledger: Ledger) -> list[str]:
    """Gas of the same work on Sijill's registry and on OpenAttestation's DocumentStore."""
    web3 = Web3(Web3.HTTPProvider(node.url))
    admin = Account.from_key(DEV_ADMIN_PRIVATE_KEY)
    artifact = json.loads(
        subprocess.run(
            ["node", str(ROOT / "benchmarks" / "oa_document_store.js")], capture_output=True, check=True, cwd=ROOT
        ).stdout
    )

    def send(call: Any) -> Any:
        tx = call.build_transaction({"from": admin.address, "nonce": web3.eth.get_transaction_count(admin.address)})
        signed = admin.sign_transaction(tx)
        receipt = web3.eth.wait_for_transaction_receipt(web3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt["status"] == 1
        return receipt

    factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    deployment = send(factory.constructor("Benchmark", admin.address))
    store = web3.eth.contract(address=deployment["contractAddress"], abi=artifact["abi"])
    tree = MerkleTree.build([os.urandom(32).hex() for _ in range(1000)])
    oa_issue = int(send(store.functions.issue(bytes.fromhex(tree.root)))["gasUsed"])
    oa_revoke = int(send(store.functions.revoke(bytes.fromhex(tree.root)))["gasUsed"])
    oa_bulk = int(send(store.functions.bulkIssue([os.urandom(32) for _ in range(100)]))["gasUsed"])
    deployed = int(deployment["gasUsed"])

    key = add_issuer_key(ledger, "gas")
    signer = ledger.vault.decrypt(key.encrypted_key, key.address)
    sijill_tree = MerkleTree.build([os.urandom(32).hex() for _ in range(1000)])
    root = sijill_tree.root
    anchor = ledger.registry.anchor(signer, root, 1000).gas_used  # type: ignore[arg-type]
    revoke = ledger.registry.revoke(signer, root, 1).gas_used  # type: ignore[arg-type]
    return [
        f"| anchor a batch of 1,000 | {anchor:,} ({anchor / 1000:.1f} / document) "
        f"| {oa_issue:,} ({oa_issue / 1000:.1f} / document, `issue`) |",
        f"| revoke the whole batch | {revoke:,} | {oa_revoke:,} (`revoke`) |",
        f"| 100 roots in one transaction | n/a (one root a batch) "
        f"| {oa_bulk:,} ({oa_bulk / 100:,.0f} / root, `bulkIssue`) |",
        f"| deploy | see `make gas` | {deployed:,} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100_000, help="the largest ledger (stages at 10^3, 10^4, ...)")
    parser.add_argument("--baseline", type=int, default=500, help="documents issued one anchor each")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (Debian package wrk)")
    stages = [size for size in (1_000, 10_000, 100_000, 1_000_000) if size <= args.documents]
    with (
        tempfile.TemporaryDirectory() as scratch,
        AnvilProcess(port=free_port(), extra_args=("--gas-limit", "100000000")) as node,
    ):
        folder = Path(scratch)
        token = installation(folder / "batched", node, "moci", None)
        baseline_token = installation(folder / "single", node, "mme", folder / "batched" / "deployment.json")
        rows: list[str] = []
        memory_line = ""
        with service(folder / "batched", node, SIJILL_BATCH_DOCUMENTS="1000", SIJILL_BATCH_WAIT_MS="200") as (url, pid):
            sampler = Memory(pid)
            sampler.start()
            done = 0
            for size in stages:
                seconds = issue(url, token, done, size - done, folder / "batched" / "sijill.db", done)
                rate = (size - done) / seconds
                done = size
                headers = {"Authorization": f"Bearer {token}"}
                with sqlite3.connect(folder / "batched" / "sijill.db") as connection:
                    some = connection.execute("SELECT target_hash FROM documents ORDER BY random() LIMIT 1").fetchone()[
                        0
                    ]
                document = httpx.get(f"{url}/v1/documents/{some}/wrapped", headers=headers).json()
                verify = wrk(f"{url}/v1/verify", document, folder, f"verify-{size}")
                ledger = Ledger(Settings(data_dir=folder / "batched", rpc_url=node.url, seed_demo=False))
                call = {
                    "to": ledger.registry.address,
                    "data": ledger.registry.inspect_call(some, document["signature"]["merkleRoot"]),
                }
                direct = wrk(
                    node.url,
                    {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]},
                    folder,
                    f"call-{size}",
                )
                ledger.close()
                rows.append(f"| {size:,} | {rate:,.0f} documents/s | {verify} | {direct} |")
                print(rows[-1], flush=True)
            sampler.stop.set()
            memory_line = (
                f"service memory during the bulk issuance: {sampler.samples[0]:.0f} MB at the start, "
                f"peak {max(sampler.samples):.0f} MB, {sampler.samples[-1]:.0f} MB at {done:,} documents"
            )
        with service(folder / "single", node, SIJILL_BATCH_DOCUMENTS="1", SIJILL_BATCH_WAIT_MS="0") as (url, _pid):
            seconds = issue(url, baseline_token, 0, args.baseline, folder / "single" / "sijill.db", 0)
            baseline = (
                f"baseline, one anchor per document: {args.baseline:,} documents in {seconds:.1f} s "
                f"= {args.baseline / seconds:,.0f} documents/s"
            )
        ledger = Ledger(Settings(data_dir=folder / "batched", rpc_url=node.url, seed_demo=False))
        register_agency(ledger, "gas", "Gas")
        gas_rows = gas(node, ledger)
        ledger.close()

    print()
    print(
        "| documents on the ledger | issuance over HTTP (batches of 1,000) "
        "| POST /v1/verify under load | direct eth_call (baseline) |"
    )
    print("|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(baseline)
    print(memory_line)
    print()
    print("| gas | Sijill | OpenAttestation DocumentStore 3.0.0 |")
    print("|---|---|---|")
    print("\n".join(gas_rows))


if __name__ == "__main__":
    main()
