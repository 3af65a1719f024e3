"""What the security of the service costs a request, measured in this process.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.security_costs

Prints the strict JSON read of a wrapped document (every JSON body goes through it before
FastAPI parses the body itself) beside the standard library's parser, one Argon2id check of
an API token (paid once per token and service process), and the resident memory before and
after that check (Argon2 works in 64 MiB). The output is saved to
`benchmarks/results/security_costs.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.results import Results
from ledger.api_keys import TokenHasher, new_token
from ledger.documents.jsonsafe import loads
from ledger.documents.wrap import wrap_documents

EXAMPLE = json.loads((Path(__file__).resolve().parents[1] / "examples" / "commercial-licence.json").read_text())


def per_call_us(call: Callable[[], object], rounds: int) -> float:
    """The best of three runs of `rounds` calls, in microseconds a call."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            call()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best * 1e6


def resident_mb() -> float:
    """This process's resident memory."""
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    rounds = parser.parse_args().rounds

    with Results("security_costs") as out:
        measure(out, rounds)


def measure(out: Results, rounds: int) -> None:
    """Print each cost through `out`."""
    data = {"documentType": EXAMPLE["document_type"], "subject": EXAMPLE["fields"]}
    document = wrap_documents([data, data])[0]
    escaped = json.dumps(document).encode()
    raw = json.dumps(document, ensure_ascii=False).encode()
    out.print(f"a wrapped licence: {len(raw):,} bytes (UTF-8), {len(escaped):,} bytes (\\u escapes)")
    out.print(f"json.loads:                         {per_call_us(lambda: json.loads(raw), rounds):6.1f} µs")
    out.print(f"strict read, UTF-8:                 {per_call_us(lambda: loads(raw), rounds):6.1f} µs")
    out.print(f"strict read, \\u escapes:            {per_call_us(lambda: loads(escaped), rounds):6.1f} µs")

    hasher = TokenHasher()
    _key_id, token = new_token()
    stored = hasher.hash(token)
    before = resident_mb()
    started = time.perf_counter()
    assert TokenHasher().matches(stored, token)  # a fresh hasher: nothing remembered
    checked = time.perf_counter() - started
    out.print(f"one Argon2id token check:           {checked * 1000:6.1f} ms")
    out.print(
        f"then remembered:                    {per_call_us(lambda: hasher.matches(stored, token), rounds):6.1f} µs"
    )
    out.print(f"resident memory around the check:   {before:.0f} MB before, {resident_mb():.0f} MB after")


if __name__ == "__main__":
    main()
