"""How fast the auditor replays a large ledger, beside the raw log-reading rate on the same chain.

    .venv/bin/python benchmarks/audit_replay.py [--events 100000] [--page 25]

Builds a ledger of N anchors on a fresh Anvil (mined 2,000 to a block), then, in the
same run: (1) reads every log with eth_getLogs, page by page, decoding only the JSON;
(2) replays the same range as the auditor does (decode, check every rule against the
replayed state kept on disk page by page, Merkle accumulator), with the resident memory
after each quarter; (3) the whole
audit, including the comparison of every anchor with the contract and the signed
checkpoint. Target: (2) at no less than half the rate of (1).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from eth_utils.abi import function_signature_to_4byte_selector

from ledger.audit.accumulator import Accumulator
from ledger.audit.replay import LedgerState
from ledger.audit.tables import open_tables
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.settings import Settings
from ledger.usecases.agencies import register_agency
from ledger.usecases.audit import run_audit
from ledger.usecases.context import Ledger
from ledger.usecases.setup import ensure_deployment

ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # Anvil's second development account (unlocked)
PER_BLOCK = 2000


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def build(ledger: Ledger, count: int) -> None:
    """`count` anchors by an unlocked development key, sent in JSON-RPC batches."""
    provider = ledger.registry._web3.provider
    register_agency(ledger, "moci", "Ministry of Commerce")
    ledger.registry.add_issuer_key(ledger.admin, "moci", ISSUER)
    provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    selector = function_signature_to_4byte_selector("anchor(bytes32,uint32,uint40)").hex()
    address = ledger.registry.address
    nonce = int(provider.make_request("eth_getTransactionCount", [ISSUER, "pending"])["result"], 16)  # type: ignore[arg-type]
    for start in range(0, count, PER_BLOCK):
        batch = []
        for n in range(start, min(count, start + PER_BLOCK)):
            root = (n + 1).to_bytes(32, "big").hex()
            data = "0x" + selector + root + (1).to_bytes(32, "big").hex() + (0).to_bytes(32, "big").hex()
            tx = {"from": ISSUER, "to": address, "data": data, "gas": hex(90_000), "nonce": hex(nonce + n)}
            batch.append(("eth_sendTransaction", [tx]))
        refused = [r for r in provider.make_batch_request(batch) if "error" in r]  # type: ignore[attr-defined]
        assert not refused, refused[:3]
        provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=25, help="blocks per eth_getLogs page")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        AnvilProcess(port=free_port(), extra_args=("--gas-limit", "1000000000")) as node,
    ):
        ledger = Ledger(Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False))
        ensure_deployment(ledger, redeploy_if_lost=False)
        started = time.perf_counter()
        build(ledger, args.events)
        print(f"built {args.events:,} anchors in {time.perf_counter() - started:.1f} s")
        reader = ledger.registry.events(ledger.artifact.abi)
        first, head = ledger.deployment.block_number, reader.head()

        # 1. Raw: eth_getLogs and JSON decoding only.
        started = time.perf_counter()
        raw = 0
        for block in range(first, head + 1, args.page):
            raw += len(reader.raw_logs(block, min(head, block + args.page - 1)))
        raw_seconds = time.perf_counter() - started
        print(f"raw eth_getLogs: {raw:,} logs in {raw_seconds:.2f} s = {raw / raw_seconds:,.0f} logs/s")

        # 2. Replay: decode, rules, accumulator, with memory after each quarter.
        anchors, documents, database = open_tables(Path(folder) / "bench-replay.sqlite", fresh=True)
        state, accumulator = LedgerState(anchors=anchors, documents=documents), Accumulator()
        marks = {round(raw * q / 4) for q in (1, 2, 3, 4)}
        memory = []
        base = rss_mb()
        started = time.perf_counter()
        for _last, events in reader.pages(first, head, blocks_per_page=args.page):
            state.prefetch(events)
            for event in events:
                assert not state.apply(event)
                accumulator.add(event.leaf)
                if accumulator.count in marks:
                    memory.append(f"{accumulator.count:,}: +{rss_mb() - base:.0f} MB")
            assert not state.flush()
        replay_seconds = time.perf_counter() - started
        database.close()
        rate = accumulator.count / replay_seconds
        print(
            f"replay: {accumulator.count:,} events in {replay_seconds:.2f} s = {rate:,.0f} events/s "
            f"({rate / (raw / raw_seconds):.0%} of the raw rate)"
        )
        print("resident memory over the replay: " + ", ".join(memory))

        # 3. The whole audit: replay, compare every anchor with the contract, sign a checkpoint.
        started = time.perf_counter()
        run = run_audit(ledger, folder=Path(folder) / "audit", with_store=False, blocks_per_page=args.page)
        print(
            f"full audit (incl. {args.events:,} contract reads): {time.perf_counter() - started:.1f} s, "
            f"{len(run.findings)} findings"
        )
        ledger.close()


if __name__ == "__main__":
    main()
