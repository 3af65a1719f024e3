"""Verdicts that no single node decides, beside plain verification and a direct `eth_call`; and failover.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.ledger_reads

1. One ledger: the service issues 10,000 documents (batches of 100) on an Anvil whose state is
   saved; that node stops and three replicas start from the saved state. They are three real
   nodes serving the same blocks (nothing is mined after), as a permissioned network's are.
2. Verification through POST /v1/verify under wrk (a second process, 2 threads, 16 connections,
   10 s each, warm), cycling through 2,000 documents spread over every batch, on the same three
   nodes and the same documents in every mode:
   - plain: one endpoint, its answer believed (today's default);
   - quorum: 2 of the 3 endpoints must give the same block hash and the same answer;
   - proofs: one endpoint, its answer checked with `eth_getProof` against the block's state root;
   - proofs + quorum: 2 of 3 agree on the block, and the answer is proven against it.
   Baseline: the same load as direct `eth_call`s of the registry's `inspect` to one node.
   The cost of proof mode is the plain rate over the proofs + quorum rate.
3. Failover: 16 client threads verify for 20 s against the service reading three endpoints
   (plain mode); after 5 s the endpoint it prefers is killed (SIGKILL). Reported: the seconds from
   the kill until every answer is again a verdict within twice the p99 latency before the kill
   (held for a second), the 503s, and the wrong verdicts (any but VALID: must be none).

The service runs as `sijill up --no-chain` with two processes (one per core) on 127.0.0.1, with
SQLite. The output is saved to `benchmarks/results/ledger_reads.json`.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.pipeline import (
    BATCH,
    CONNECTIONS,
    THREADS,
    installation,
    issue,
    sample_documents,
    service,
    write_bodies,
    wrk,
)
from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.settings import Settings
from ledger.usecases.context import Ledger

DOCUMENTS = 10_000
DISTINCT = 2_000
FAILOVER_SECONDS, KILL_AT = 20.0, 5.0
CLIENTS = 16
MODES = {
    "plain (1 endpoint)": {},
    "quorum 2 of 3": {"SIJILL_VERIFY_QUORUM": "2"},
    "proofs (1 endpoint)": {"SIJILL_VERIFY_PROOFS": "true"},
    "proofs + quorum 2 of 3": {"SIJILL_VERIFY_QUORUM": "2", "SIJILL_VERIFY_PROOFS": "true"},
}


@dataclass
class Answer:
    """One verification request of the failover run: when it was sent, how long it took, what came back."""

    sent: float
    seconds: float
    status: int
    verdict: str | None


def failover(url: str, bodies: list[bytes], kill: AnvilProcess) -> tuple[list[Answer], float]:
    """Verify from `CLIENTS` threads for `FAILOVER_SECONDS`, killing `kill` after `KILL_AT` s; the answers
    and the time of the kill."""
    answers: list[Answer] = []
    lock = threading.Lock()
    start = time.monotonic()

    def client(index: int) -> None:
        rng = random.Random(index)  # noqa: S311 (which document to send next, not a secret)
        with httpx.Client(base_url=url, timeout=30, headers={"Content-Type": "application/json"}) as http:
            while time.monotonic() - start < FAILOVER_SECONDS:
                sent = time.monotonic()
                response = http.post("/v1/verify", content=rng.choice(bodies))
                verdict = response.json().get("status") if response.status_code == 200 else None
                with lock:
                    answers.append(Answer(sent - start, time.monotonic() - sent, response.status_code, verdict))

    threads = [threading.Thread(target=client, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AT)
    kill.kill()  # SIGKILL: the node is gone mid-request
    killed = time.monotonic() - start
    for thread in threads:
        thread.join()
    return answers, killed


def recovery(answers: list[Answer], killed: float) -> float:
    """Seconds from the kill until every answer is a verdict within twice the p99 before it, for a second."""
    before = sorted(answer.seconds for answer in answers if answer.sent + answer.seconds < killed)
    bound = 2 * before[int(len(before) * 0.99)]
    after = sorted((answer for answer in answers if answer.sent >= killed), key=lambda answer: answer.sent)
    normal_since: float | None = None
    for answer in after:
        if answer.status == 200 and answer.seconds <= bound:
            normal_since = answer.sent if normal_since is None else normal_since
            if answer.sent - normal_since >= 1.0:
                return normal_since - killed
        else:
            normal_since = None
    raise RuntimeError("answers never came back to normal after the kill")


def main() -> None:
    with Results("ledger_reads") as out, tempfile.TemporaryDirectory(prefix="sijill-bench-") as work:
        folder = Path(work)
        state = folder / "chain.json"
        with AnvilProcess(port=free_port(), state_file=state) as node:
            token = installation(folder / "issuer", node, "moci", None)
            with service(folder / "issuer", node, SIJILL_BATCH_DOCUMENTS=str(BATCH)) as (url, _pid):
                issue(url, token, 0, DOCUMENTS, folder / "issuer" / "sijill.db", 0)
                ledger = Ledger(Settings(data_dir=folder / "issuer", rpc_url=node.url, seed_demo=False))
                rng = random.Random(7)  # noqa: S311 (which documents to sample, not a secret)
                chosen, batches = sample_documents(folder / "issuer" / "sijill.db", DISTINCT, rng)
                verify, calls = write_bodies(url, token, ledger, chosen, folder, rng)
                ledger.close()
            time.sleep(1.5)  # the node saves its state every second, and once more as it stops
        replicas = []
        for index in range(3):
            copy = folder / f"replica-{index}.json"
            shutil.copy(state, copy)
            replicas.append(AnvilProcess(port=free_port(), extra_args=("--load-state", str(copy))).start())
        try:
            endpoints = ",".join(replica.url for replica in replicas)
            out.print(
                f"{DOCUMENTS:,} documents in batches of {BATCH}; {len(chosen):,} distinct documents from {batches:,} "
                f"batches verified, each verdict VALID; three Anvil replicas of one saved chain; wrk: {THREADS} "
                f"threads, {CONNECTIONS} connections, 10 s warm; the service: 2 processes, SQLite"
            )
            out.print()
            out.print("| mode | requests/s | p50 | p99 |")
            out.print("|---|---:|---:|---:|")
            rates: dict[str, float] = {}
            for name, env in MODES.items():
                urls = replicas[0].url if name.endswith("(1 endpoint)") else endpoints
                with service(folder / "issuer", replicas[0], SIJILL_RPC_URLS=urls, **env) as (url, _pid):
                    wrk(f"{url}/v1/verify", verify, one_pass=len(chosen))  # warm every process and cache first
                    load = wrk(f"{url}/v1/verify", verify)
                rates[name] = load.rate
                out.print(f"| {name} | {load.rate:,.0f} | {load.latency['50']} | {load.latency['99']} |")
            direct = wrk(replicas[0].url, calls)
            out.print(f"| direct `eth_call` of `inspect` to one node | {direct.rate:,.0f} | {direct.latency['50']} | "
                      f"{direct.latency['99']} |")  # fmt: skip
            out.print()
            cost = rates["plain (1 endpoint)"] / rates["proofs + quorum 2 of 3"]
            out.print(f"proofs + quorum cost {cost:.2f}x plain verification (bar: at most 3x)")

            bodies = [line.encode() for line in verify.read_text().splitlines()]
            with service(folder / "issuer", replicas[0], SIJILL_RPC_URLS=endpoints) as (url, _pid):
                answers, killed = failover(url, bodies, replicas[0])
            unavailable = sum(answer.status == 503 for answer in answers)
            wrong = sum(answer.status == 200 and answer.verdict != "VALID" for answer in answers)
            other = sum(answer.status not in (200, 503) for answer in answers)
            seconds = recovery(answers, killed)
            p50 = statistics.median(answer.seconds for answer in answers) * 1000
            out.print(
                f"failover: the preferred of 3 endpoints killed at {killed:.1f} s under {CLIENTS} clients: answers "
                f"normal again after {seconds:.2f} s; {len(answers):,} requests, {unavailable} answered 503, "
                f"{other} other errors, {wrong} wrong verdicts (p50 {p50:.1f} ms over the run)"
            )
            if wrong or other:
                raise RuntimeError(f"{wrong} wrong verdicts and {other} errors during failover")
        finally:
            for replica in replicas:
                replica.stop()


if __name__ == "__main__":
    main()
