"""How fast the auditor replays a large ledger, beside the raw log-reading rate on the same chain.

    .venv/bin/python benchmarks/audit_replay.py [--events 100000] [--page 10] [--rounds 3] [--breakdown]

Builds a ledger of N anchors with random roots on a fresh Anvil (mined 2,000 to a block), with
2% of the batches suspended (half of those reinstated) and 1% revoked, then, in the same run
and alternating, each `--rounds` times: (1) the raw rate: every log read with eth_getLogs, page
by page, through the same read-ahead reader the auditor uses, decoding only the JSON; (2) the
replay as `run_audit` does it (decode, every rule against the replayed state kept on disk page
by page, Merkle accumulator), with the resident memory after each quarter of the first round.
Each rate is the best of its rounds (the machine's noise only ever slows a round down). Then
(3) one whole audit as `sijill audit run` makes it: replay, the comparison of every record with
the contract, the reconciliation with a store that holds every batch (as the service's store
would), and the signed checkpoint; it prints what the audit counted as it compared.
Target: (2) at no less than half the rate of (1), memory flat. The output is saved to
`benchmarks/results/audit_replay.json`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from hashlib import sha256
from pathlib import Path

from eth_utils.abi import function_signature_to_4byte_selector
from sqlalchemy import insert

from benchmarks.results import Results
from ledger.audit.accumulator import Accumulator
from ledger.audit.replay import LedgerState, replay_page
from ledger.audit.report import describe_checked
from ledger.audit.tables import open_tables
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.events import EventReader, collector_paused
from ledger.settings import Settings
from ledger.store.models import BatchRow
from ledger.usecases.agencies import agency_admin_signer, register_agency
from ledger.usecases.audit import run_audit
from ledger.usecases.context import Ledger
from ledger.usecases.sending import send_call
from ledger.usecases.setup import ensure_deployment

ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # Anvil's second development account (unlocked)
PER_BLOCK = 2000


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def word(value: int | bytes) -> str:
    return (value if isinstance(value, bytes) else value.to_bytes(32, "big")).hex()


def root_of(n: int) -> str:
    """The root of the benchmark's n-th anchor."""
    return word(sha256(n.to_bytes(8, "big")).digest())


def status_of(n: int) -> str:
    """The n-th batch's status once `build` has sent its changes (see there)."""
    if n % 100 == 1:
        return "REVOKED"
    return "SUSPENDED" if n % 50 == 0 and n % 100 != 0 else "ACTIVE"


def record_in_store(ledger: Ledger, count: int) -> None:
    """The store's record of every batch `build` anchored, as the service would have kept it."""
    for start in range(0, count, 10_000):
        rows = [
            {
                "root": root_of(n),
                "agency_id": "moci",
                "key_address": ISSUER,
                "document_count": 1,
                "state": "anchored",
                "status": status_of(n),
            }
            for n in range(start, min(count, start + 10_000))
        ]
        with ledger.store.session() as session:
            session.execute(insert(BatchRow), rows)


def build(ledger: Ledger, count: int) -> int:
    """`count` anchors and some status changes by an unlocked development key, sent in JSON-RPC batches.

    Returns the number of transactions sent (each emits one event).
    """
    provider = ledger.registry._web3.provider
    register_agency(ledger, "moci", "Ministry of Commerce")
    registry = ledger.registry
    adding = registry.add_issuer_key_call("moci", ISSUER)
    send_call(ledger, agency_admin_signer(ledger, "moci"), registry.address, adding)  # the agency's own admin
    provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    select = {
        name: "0x" + function_signature_to_4byte_selector(name).hex()
        for name in (
            "anchor(bytes32,uint32,uint40)",
            "suspend(bytes32,uint8)",
            "reinstate(bytes32)",
            "revoke(bytes32,uint8)",
        )
    }
    address = ledger.registry.address
    nonce = int(provider.make_request("eth_getTransactionCount", [ISSUER, "pending"])["result"], 16)  # type: ignore[arg-type]
    sent = 0
    for start in range(0, count, PER_BLOCK):
        calls = []
        for n in range(start, min(count, start + PER_BLOCK)):
            root = root_of(n)
            calls.append(select["anchor(bytes32,uint32,uint40)"] + root + word(1) + word(0))
            if n % 50 == 0:
                calls.append(select["suspend(bytes32,uint8)"] + root + word(1))
            if n % 100 == 0:
                calls.append(select["reinstate(bytes32)"] + root)
            if n % 100 == 1:
                calls.append(select["revoke(bytes32,uint8)"] + root + word(2))
        batch = [
            (
                "eth_sendTransaction",
                [{"from": ISSUER, "to": address, "data": data, "gas": hex(90_000), "nonce": hex(nonce + sent + i)}],
            )
            for i, data in enumerate(calls)
        ]
        refused = [r for r in provider.make_batch_request(batch) if "error" in r]  # type: ignore[attr-defined]
        assert not refused, refused[:3]
        sent += len(calls)
        provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    return sent


def raw_rate(reader: EventReader, first: int, head: int, page: int) -> tuple[int, float]:
    """(logs, seconds) to read every log, JSON decoding only."""
    started, count = time.perf_counter(), 0
    for _last, logs in reader.raw_pages(first, head, blocks_per_page=page):
        count += len(logs)
    return count, time.perf_counter() - started


def replay_rate(reader: EventReader, first: int, head: int, page: int, folder: Path) -> tuple[int, float, list[str]]:
    """(events, seconds, memory after each quarter) to replay every event as the auditor does."""
    anchors, documents, database = open_tables(folder / "bench-replay.sqlite", fresh=True)
    state, accumulator = LedgerState(anchors=anchors, documents=documents), Accumulator()
    memory: list[str] = []
    base = rss_mb()
    started = time.perf_counter()
    quarter = 0
    for last, events in reader.pages(first, head, blocks_per_page=page):
        findings = replay_page(state, accumulator, events).findings
        assert not findings, findings[:3]
        while quarter < 4 and last - first + 1 >= (head - first + 1) * (quarter + 1) / 4:
            quarter += 1
            memory.append(f"{accumulator.count:,}: +{rss_mb() - base:.0f} MB")
    assert not state.flush(force=True)
    seconds = time.perf_counter() - started
    database.close()
    return accumulator.count, seconds, memory


def breakdown(reader: EventReader, first: int, head: int, page: int, folder: Path) -> str:
    """Microseconds per event for each part of the replay, timed apart on pages read beforehand."""
    pages = [logs for _last, logs in reader.raw_pages(first, head, blocks_per_page=page)]
    count = sum(len(logs) for logs in pages)
    anchors, documents, database = open_tables(folder / "bench-parts.sqlite", fresh=True)
    state, accumulator = LedgerState(anchors=anchors, documents=documents), Accumulator()
    parts = dict.fromkeys(("decode", "rules", "tables", "accumulator"), 0.0)
    with collector_paused():
        for logs in pages:
            started = time.perf_counter()
            events = [reader.decode(log) for log in logs]
            decoded = time.perf_counter()
            state.prefetch(events)
            for event in events:
                state.apply(event)
            applied = time.perf_counter()
            state.flush()
            flushed = time.perf_counter()
            for event in events:
                accumulator.add(event.leaf)
            parts["decode"] += decoded - started
            parts["rules"] += applied - decoded
            parts["tables"] += flushed - applied
            parts["accumulator"] += time.perf_counter() - flushed
        started = time.perf_counter()
        state.flush(force=True)
        parts["tables"] += time.perf_counter() - started
    database.close()
    return ", ".join(f"{name} {seconds / count * 1e6:.1f}" for name, seconds in parts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="anchors (status changes come on top)")
    parser.add_argument("--page", type=int, default=10, help="blocks per eth_getLogs page")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true", help="also time each part of the replay apart")
    args = parser.parse_args()
    with (
        Results("audit_replay") as out,
        tempfile.TemporaryDirectory() as folder,
        AnvilProcess(port=free_port(), extra_args=("--gas-limit", "1000000000")) as node,
    ):
        ledger = Ledger(Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False))
        ensure_deployment(ledger, redeploy_if_lost=False)
        started = time.perf_counter()
        sent = build(ledger, args.events)
        record_in_store(ledger, args.events)
        out.print(
            f"built {args.events:,} anchors and {sent - args.events:,} status changes "
            f"in {time.perf_counter() - started:.1f} s"
        )
        reader = ledger.registry.events(ledger.artifact.abi)
        first, head = ledger.deployment.block_number, reader.head()

        raws, replays, memory = [], [], []
        for round_ in range(args.rounds):
            logs, seconds = raw_rate(reader, first, head, args.page)
            raws.append(logs / seconds)
            events, seconds, quarters = replay_rate(reader, first, head, args.page, Path(folder))
            assert events == logs
            replays.append(events / seconds)
            memory = memory or quarters
            out.print(f"round {round_ + 1}: raw {raws[-1]:,.0f} logs/s, replay {replays[-1]:,.0f} events/s")
        raw, replay = max(raws), max(replays)
        out.print(f"raw eth_getLogs: {logs:,} logs, best {raw:,.0f} logs/s")
        out.print(f"replay: {events:,} events, best {replay:,.0f} events/s ({replay / raw:.0%} of the raw rate)")
        out.print("resident memory over the first replay: " + ", ".join(memory))
        if args.breakdown:
            out.print("replay parts, µs per event: " + breakdown(reader, first, head, args.page, Path(folder)))

        # 3. The whole audit: replay, compare every record with the contract, sign a checkpoint.
        started = time.perf_counter()
        run = run_audit(ledger, folder=Path(folder) / "audit", blocks_per_page=args.page)
        out.print(
            f"full audit with the store: {time.perf_counter() - started:.1f} s, {len(run.findings)} findings; "
            f"{run.events_replayed:,} events replayed; compared: {describe_checked(run.checked)}"
        )
        assert not run.findings, run.findings[:3]
        ledger.close()


if __name__ == "__main__":
    main()
