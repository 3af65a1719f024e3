"""How fast Sijill verifies and issues on a local Anvil, through the same use cases as the API, in process.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.verify_and_issue

One client, sequential calls. Verification goes through distinct documents: `--batches`
batches of `--batch` documents are issued, then every document is verified once with a fresh
ledger context (cold: nothing cached) and once more (warm). Then wrapping alone, and one batch
issued end to end (validate, wrap, store, anchor). The output is saved to
`benchmarks/results/verify_and_issue.json`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.documents.wrap import wrap_documents
from ledger.settings import Settings
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, build_document_data, issue_documents
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.verify import verify_document

EXAMPLE = json.loads((Path(__file__).resolve().parents[1] / "examples" / "commercial-licence.json").read_text())


def verify_all(ledger: Ledger, documents: list[dict[str, Any]]) -> str:
    """Verify each document once; their rate and latencies."""
    latencies = []
    for document in documents:
        start = time.perf_counter()
        result = verify_document(ledger, document)
        latencies.append(time.perf_counter() - start)
        assert result.valid, result
    total = sum(latencies)
    return (
        f"{len(documents):,} in {total:.2f} s = {len(documents) / total:,.0f}/s, "
        f"median {statistics.median(latencies) * 1000:.2f} ms, "
        f"p95 {sorted(latencies)[int(0.95 * len(latencies))] * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20, help="batches issued for verification")
    parser.add_argument("--batch", type=int, default=100, help="documents per batch")
    parser.add_argument("--wrap", type=int, default=1000, help="documents wrapped, and issued as one batch")
    args = parser.parse_args()
    with (
        Results("verify_and_issue") as out,
        tempfile.TemporaryDirectory() as folder,
        AnvilProcess(port=free_port()) as node,
    ):
        settings = Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False)
        ledger = Ledger(settings)
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")

        documents = []
        for batch in range(args.batches):
            requests = [
                IssueRequest(
                    EXAMPLE["document_type"], {**EXAMPLE["fields"], "licenceNumber": f"CL-V{batch:04d}{n:04d}"}
                )
                for n in range(args.batch)
            ]
            documents += issue_documents(ledger, "moci", requests).documents
        random.Random(7).shuffle(documents)  # noqa: S311 (an order, not a secret)
        ledger.close()

        fresh = Ledger(settings)  # nothing cached: no agency name, no anchoring transaction
        out.print(f"verify, cold ({args.batches} batches of {args.batch}): {verify_all(fresh, documents)}")
        out.print(f"verify, warm (the same documents again):  {verify_all(fresh, documents)}")

        request = IssueRequest(EXAMPLE["document_type"], EXAMPLE["fields"])
        agency = fresh.store.get_agency("moci")
        assert agency is not None
        data = [build_document_data(fresh, agency, request)] * args.wrap
        start = time.perf_counter()
        wrap_documents(data)
        wrapped_in = time.perf_counter() - start
        out.print(f"wrap: {args.wrap:,} documents in {wrapped_in:.2f} s = {args.wrap / wrapped_in:,.0f}/s")

        start = time.perf_counter()
        issue_documents(fresh, "moci", [request] * args.wrap)
        issued_in = time.perf_counter() - start
        out.print(
            f"issue: a batch of {args.wrap:,} (validate, wrap, store, anchor) in {issued_in:.2f} s "
            f"= {args.wrap / issued_in:,.0f} documents/s"
        )
        fresh.close()


if __name__ == "__main__":
    main()
