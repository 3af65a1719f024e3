"""How fast Sijill verifies and issues on a local Anvil, through the same use cases as the API.

    .venv/bin/python benchmarks/verify_and_issue.py [--verifications 500] [--batch 1000]

Prints the rate of verifications (one client, sequential: each reads the chain twice and
hashes the document), of wrapping alone, and of issuing one batch end to end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.documents.wrap import wrap_documents
from ledger.settings import Settings
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, build_document_data, issue_documents
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.verify import verify_document

EXAMPLE = json.loads((Path(__file__).resolve().parents[1] / "examples" / "commercial-licence.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verifications", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    request = IssueRequest(EXAMPLE["document_type"], EXAMPLE["fields"])
    with tempfile.TemporaryDirectory() as folder, AnvilProcess(port=free_port()) as node:
        ledger = Ledger(Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False))
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")

        document = issue_documents(ledger, "moci", [request]).documents[0]
        verify_document(ledger, document)  # warm up: connection, agency name cache
        latencies = []
        for _ in range(args.verifications):
            start = time.perf_counter()
            result = verify_document(ledger, document)
            latencies.append(time.perf_counter() - start)
            assert result.valid
        total = sum(latencies)
        print(
            f"verify: {args.verifications} in {total:.2f} s = {args.verifications / total:,.0f}/s, "
            f"median {statistics.median(latencies) * 1000:.2f} ms, "
            f"p95 {sorted(latencies)[int(0.95 * len(latencies))] * 1000:.2f} ms"
        )

        agency = ledger.store.get_agency("moci")
        assert agency is not None
        data = [build_document_data(ledger, agency, request)] * args.batch
        start = time.perf_counter()
        wrap_documents(data)
        wrapped_in = time.perf_counter() - start
        print(f"wrap: {args.batch} documents in {wrapped_in:.2f} s = {args.batch / wrapped_in:,.0f}/s")

        start = time.perf_counter()
        issue_documents(ledger, "moci", [request] * args.batch)
        issued_in = time.perf_counter() - start
        print(
            f"issue: a batch of {args.batch} (validate, wrap, store, anchor) in {issued_in:.2f} s "
            f"= {args.batch / issued_in:,.0f} documents/s"
        )
        ledger.close()


if __name__ == "__main__":
    main()
