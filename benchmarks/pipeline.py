"""The issuance pipeline and verification, each beside its baseline, on one fresh chain in one run.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.pipeline

1. Issuance through the HTTP API (validate, wrap, store, anchor, confirm), from the first
   request until the last document is ANCHORED: the service queues documents (wait=false,
   100 per request, 4 client threads) and its worker anchors batches of up to 100, so the
   number of anchors grows with the ledger. The ledger grows in stages to 10^3, 10^4 and 10^5
   documents; each stage reports its rate and the service's resident memory while it issued.
   Baseline: the same service and client with one anchor per document (batches of 1).
2. Verification through POST /v1/verify under load from wrk (a second process, 2 threads,
   16 connections) at each ledger size, cycling through up to 10,000 distinct documents spread
   over every batch on the ledger (a Lua script over a file of bodies):
   - cold: fresh service processes (nothing cached), one pass, each document verified once;
   - warm: right after, the same documents again and again for 10 s.
   The service's memory is sampled over the two runs. Baseline: the same load as direct
   `eth_call`s of the registry's `inspect` to the node, cycling through the same documents.

The service runs as `sijill up --no-chain` with two processes (`SIJILL_API_WORKERS=2`, one per
core) on 127.0.0.1, with SQLite; the baseline runs the same way. The output is saved to
`benchmarks/results/pipeline.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.settings import Settings
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger
from ledger.usecases.setup import ensure_deployment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "examples" / "commercial-licence.json").read_text())
SIJILL = Path(sys.executable).parent / "sijill"
PER_REQUEST = 100
CLIENTS = 4
BATCH = 100
DISTINCT = 10_000
WARM_SECONDS = 10


# --- the service ------------------------------------------------------------------------


@contextmanager
def service(folder: Path, node: AnvilProcess, **env: str) -> Iterator[tuple[str, int]]:
    """`sijill up --no-chain` on a free port: fresh processes; yields its base URL and process id."""
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
    """Samples, while its `with` block runs, the resident memory of a process and all its children."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopping = pid, list[float](), threading.Event()

    @staticmethod
    def tree(pid: int) -> list[int]:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [pid] + [p for child in children.read().split() for p in Memory.tree(int(child))]

    @staticmethod
    def resident_mb(pid: int) -> float:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    def sample(self) -> None:
        with suppress(FileNotFoundError, ProcessLookupError):  # a worker came or went between list and read
            self.samples.append(sum(self.resident_mb(pid) for pid in self.tree(self.pid)))

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.sample()

    def __enter__(self) -> Memory:
        self.sample()
        self.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stopping.set()
        self.join()
        self.sample()

    def summary(self) -> str:
        return f"{self.samples[0]:.0f} MB at the start, peak {max(self.samples):.0f} MB"


# --- 1. issuance ----------------------------------------------------------------------


def anchored(database: Path) -> tuple[int, int]:
    """(documents, batches) anchored so far.

    Summed over the batches (at most a thousand rows), not counted over the documents: the client polls
    this every 50 ms on the same two cores as the service, and must not take their time.
    """
    with sqlite3.connect(database) as connection:
        documents, batches = connection.execute(
            "SELECT coalesce(sum(document_count), 0), count(*) FROM batches WHERE state = 'anchored'"
        ).fetchone()
    return int(documents), int(batches)


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
    while anchored(database)[0] < done_before + count:
        time.sleep(0.05)
    return time.perf_counter() - started


# --- 2. verification under load ------------------------------------------------------------

# Each wrk thread starts at its own offset in the file of bodies and walks it in turn. With a
# `share`, a thread stops after that many answers (one pass over the documents between them).
WRK_SCRIPT = """
local bodies = {{}}
for line in io.lines("{bodies}") do bodies[#bodies + 1] = line end
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local index, answered = 0, 0
function init(args)
  index = offset * math.floor(#bodies / {threads})
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end
{stop}
"""
WRK_STOP = """
function response(status, headers, body)
  answered = answered + 1
  if answered == {share} then
    local marker = io.open("{marker}" .. offset, "w")
    marker:close()
    wrk.thread:stop()
  end
end
"""
THREADS, CONNECTIONS = 2, 16


@dataclass(frozen=True)
class Load:
    """What wrk measured."""

    requests: int
    rate: float
    latency: dict[str, str]

    def __str__(self) -> str:
        p = self.latency
        return f"{self.rate:,.0f} req/s, p50 {p['50']}, p99 {p['99']} ({self.requests:,} requests)"


def wrk(url: str, bodies: Path, *, one_pass: int | None = None) -> Load:
    """POST the bodies of `bodies` (one JSON a line) to `url` under wrk's load.

    With `one_pass` (the number of bodies), each body is posted once: each thread marks a file
    when it has its share of answers, and wrk is stopped (SIGINT, which makes it report) once
    every thread has; otherwise wrk cycles through the bodies for WARM_SECONDS.
    """
    marker = bodies.with_suffix(".done-")
    for stale in bodies.parent.glob(marker.name + "*"):
        stale.unlink()
    stop = WRK_STOP.format(share=one_pass // THREADS, marker=marker) if one_pass else ""
    script = bodies.with_suffix(".lua")
    script.write_text(WRK_SCRIPT.format(bodies=bodies, threads=THREADS, stop=stop))
    duration = "300s" if one_pass else f"{WARM_SECONDS}s"
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}", "--latency", "-s", str(script), url]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        if one_pass:
            markers = [Path(f"{marker}{thread}") for thread in range(THREADS)]
            while process.poll() is None and not all(path.exists() for path in markers):
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=330)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    return Load(
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        latency=dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", output, re.MULTILINE)),
    )


def sample_documents(database: Path, limit: int, rng: random.Random) -> tuple[list[tuple[str, str]], int]:
    """Up to `limit` (target hash, root) pairs spread evenly over every anchored batch; and the batch count."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT d.target_hash, d.batch_root FROM documents d JOIN batches b ON b.root = d.batch_root "
            "WHERE b.state = 'anchored' ORDER BY d.batch_root"
        ).fetchall()
    by_batch: dict[str, list[str]] = {}
    for target, root in rows:
        by_batch.setdefault(root, []).append(target)
    per_batch = max(1, limit // len(by_batch))
    chosen = [
        (target, root)
        for root, targets in by_batch.items()
        for target in rng.sample(targets, min(per_batch, len(targets)))
    ]
    rng.shuffle(chosen)
    return chosen[:limit], len({root for _, root in chosen[:limit]})


def write_bodies(
    url: str, token: str, ledger: Ledger, chosen: list[tuple[str, str]], folder: Path, rng: random.Random
) -> tuple[Path, Path]:
    """The files of bodies for wrk: each chosen document as its holder has it, and its `inspect` call."""
    headers = {"Authorization": f"Bearer {token}"}

    def fetch(targets: list[str]) -> list[str]:  # one keep-alive client a thread, not one a document
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            return [
                json.dumps(client.get(f"/v1/documents/{target}/wrapped").raise_for_status().json())
                for target in targets
            ]

    targets = [target for target, _ in chosen]
    with ThreadPoolExecutor(CLIENTS) as pool:
        documents = [body for part in pool.map(fetch, [targets[i::CLIENTS] for i in range(CLIENTS)]) for body in part]
    chosen = [pair for i in range(CLIENTS) for pair in chosen[i::CLIENTS]]  # the bodies' order
    verify, calls = folder / "verify.jsonl", folder / "inspect.jsonl"
    verify.write_text("\n".join(documents) + "\n")
    registry = ledger.registry
    calls.write_text(
        "\n".join(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "eth_call",
                    "params": [{"to": registry.address, "data": registry.inspect_call(target, root)}, "latest"],
                }
            )
            for target, root in chosen
        )
        + "\n"
    )
    # The documents verify VALID before they are measured (wrk counts answers, not verdicts).
    with httpx.Client(base_url=url, timeout=60) as client:
        for body in rng.sample(documents, min(20, len(documents))):
            verdict = client.post("/v1/verify", content=body, headers={"Content-Type": "application/json"}).json()
            assert verdict["status"] == "VALID", verdict
    return verify, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100_000, help="the largest ledger (stages at 10^3, 10^4, ...)")
    parser.add_argument("--baseline", type=int, default=500, help="documents issued one anchor each")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (Debian package wrk)")
    stages = [size for size in (1_000, 10_000, 100_000, 1_000_000) if size <= args.documents]
    rng = random.Random(2026)  # noqa: S311 (which documents to sample, not a secret)
    with (
        Results("pipeline") as out,
        tempfile.TemporaryDirectory() as scratch,
        AnvilProcess(port=free_port(), extra_args=("--gas-limit", "100000000")) as node,
    ):
        folder = Path(scratch)
        batched, database = folder / "batched", folder / "batched" / "sijill.db"
        token = installation(batched, node, "moci", None)
        baseline_token = installation(folder / "single", node, "mme", batched / "deployment.json")
        issuing = {"SIJILL_BATCH_DOCUMENTS": str(BATCH), "SIJILL_BATCH_WAIT_MS": "200"}
        issuance = [
            "| documents on the ledger | anchors | issuance over HTTP | service memory while issuing |",
            "|---|---|---|---|",
        ]
        verification = [
            "| documents on the ledger | documents verified | POST /v1/verify, cold | POST /v1/verify, warm "
            "| service memory under load | direct eth_call (baseline) |",
            "|---|---|---|---|---|---|",
        ]
        done = 0
        for size in stages:
            with service(batched, node, **issuing) as (url, pid), Memory(pid) as issuing_memory:
                seconds = issue(url, token, done, size - done, database, done)
            rate, done = (size - done) / seconds, size
            issuance.append(
                f"| {size:,} | {anchored(database)[1]:,} | {rate:,.0f} documents/s | {issuing_memory.summary()} |"
            )
            print(issuance[-1], flush=True)
            chosen, batches = sample_documents(database, DISTINCT, rng)
            with service(batched, node, **issuing) as (url, pid):
                ledger = Ledger(Settings(data_dir=batched, rpc_url=node.url, seed_demo=False))
                bodies, calls = write_bodies(url, token, ledger, chosen, folder, rng)
                ledger.close()
            with service(batched, node, **issuing) as (url, pid), Memory(pid) as load_memory:  # fresh: nothing cached
                cold = wrk(f"{url}/v1/verify", bodies, one_pass=len(chosen))
                warm = wrk(f"{url}/v1/verify", bodies)
            direct = wrk(node.url, calls)
            verification.append(
                f"| {size:,} | {len(chosen):,} from {batches:,} batches | {cold} | {warm} "
                f"| {load_memory.summary()} | {direct} |"
            )
            print(verification[-1], flush=True)
        with service(folder / "single", node, SIJILL_BATCH_DOCUMENTS="1", SIJILL_BATCH_WAIT_MS="0") as (url, _pid):
            seconds = issue(url, baseline_token, 0, args.baseline, folder / "single" / "sijill.db", 0)
        out.print(
            f"wrk: {THREADS} threads, {CONNECTIONS} connections; the service: 2 processes, SQLite, "
            f"batches of up to {BATCH} documents"
        )
        out.print()
        out.print("\n".join(issuance))
        out.print(
            f"baseline, one anchor per document: {args.baseline:,} documents in {seconds:.1f} s "
            f"= {args.baseline / seconds:,.0f} documents/s"
        )
        out.print()
        out.print("\n".join(verification))


if __name__ == "__main__":
    main()
