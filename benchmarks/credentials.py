"""Credentials beside wrapped documents: issuing and verifying both, in one run, on a local Anvil.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.credentials

One client, sequential calls, through the same use cases as the API. For each batch size, a batch
of wrapped documents is issued (validate, wrap, store, anchor, mined), then the credential of every
document in it is signed (a status index each, the ecdsa-sd-2023 base proof, stored). Then the same
documents are verified, warm, as wrapped documents (`POST /v1/verify` of the OpenAttestation
document), as the holder's full credentials and as derived copies showing two claims. Last, where
the time of a credential goes, from a profile of the signing and the verifying. The output is saved
to `benchmarks/results/credentials.json`.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.settings import Settings
from ledger.usecases.actors import ADMIN
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key, credential_of, derive_credential
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.verify import verify_document
from ledger.usecases.verify_credential import verify_credential

EXAMPLE = json.loads((Path(__file__).resolve().parents[1] / "examples" / "commercial-licence.json").read_text())
SHOWN = ["/credentialSubject/licenceNumber", "/credentialSubject/tradeName"]

# Where the time goes: each part is some functions (`file:name` marks); its time is what they took when
# entered from outside the part (so recursion and calls among them count once). The rest is "other".
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("JSON-LD to RDF (pyld)", ("pyld/",)),
    ("RDFC-1.0 canonicalisation and HMAC labels", ("ledger/vc/rdf.py:canonicalize", "ledger/vc/rdf.py:_map_terms")),
    ("ECDSA P-256", ("ledger/vc/ecdsa_sd.py:sign", "ledger/vc/ecdsa_sd.py:signed")),
    ("chain reads (JSON-RPC)", ("ledger/chain/nodes.py:make_request", "ledger/chain/nodes.py:make_batch_request")),
    ("store (SQLite)", ("sqlalchemy/",)),
]


def rate(count: int, seconds: float, unit: str) -> str:
    return f"{count:,} in {seconds:.2f} s = {count / seconds:,.0f} {unit}/s"


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def requests_for(size: int, tag: str) -> list[IssueRequest]:
    return [
        IssueRequest(EXAMPLE["document_type"], {**EXAMPLE["fields"], "licenceNumber": f"CL-{tag}{n:05d}"})
        for n in range(size)
    ]


def _where(function: tuple[str, int, str]) -> str:
    filename, _line, name = function
    return f"{filename}:{name}"


def breakdown(profile: cProfile.Profile, total: float) -> str:
    """The share of `total` each part took (see `PARTS`), and the rest."""
    spent = dict.fromkeys([part for part, _marks in PARTS], 0.0)
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for function, (_calls, _primitive, _own, _cumulative, callers) in stats.items():
        for part, marks in PARTS:
            if any(mark in _where(function) for mark in marks):
                for caller, timing in callers.items():
                    if not any(mark in _where(caller) for mark in marks):
                        spent[part] += timing[3]
                break
    other = max(total - sum(spent.values()), 0.0)
    return ", ".join(f"{part} {100 * seconds / total:.0f}%" for part, seconds in [*spent.items(), ("other", other)])


def profiled(action: Callable[[], Any]) -> tuple[float, cProfile.Profile]:
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    action()
    profile.disable()
    return time.perf_counter() - start, profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000], help="batch sizes")
    parser.add_argument("--profiled", type=int, default=200, help="credentials signed and verified under the profiler")
    args = parser.parse_args()
    with (
        Results("credentials") as out,
        tempfile.TemporaryDirectory() as folder,
        AnvilProcess(port=free_port()) as node,
    ):
        ledger = Ledger(Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False))
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        add_credential_key(ledger, "moci")
        out.print("one client, in process; issuance: a batch anchored and mined, then a credential for each document")
        out.print("| batch size | wrapped documents issued | credentials signed | both |")
        out.print("|---:|---|---|---|")
        documents: list[dict[str, Any]] = []
        credentials: list[dict[str, Any]] = []
        for size in args.sizes:
            requests = requests_for(size, f"B{size}-")
            start = time.perf_counter()
            issued = issue_documents(ledger, "moci", requests).documents
            wrapped_in = time.perf_counter() - start
            start = time.perf_counter()
            signed = [
                credential_of(ledger, ADMIN, document["signature"]["targetHash"]).credential for document in issued
            ]
            signed_in = time.perf_counter() - start
            out.print(
                f"| {size:,} | {rate(size, wrapped_in, 'documents')} | {rate(size, signed_in, 'credentials')} "
                f"| {size / (wrapped_in + signed_in):,.0f} documents with credentials/s |"
            )
            documents += issued
            credentials += [credential for credential in signed if credential is not None]
        derived = [derive_credential(ledger, credential, SHOWN) for credential in credentials]
        count = len(documents)
        for document in documents[:50]:
            verify_document(ledger, document)  # warm: the agency's name and the anchors' transactions are kept
        out.print("")
        out.print(f"verification, warm, the same {count:,} documents one by one:")
        for label, verify, items in (
            ("wrapped (OpenAttestation) document", verify_document, documents),
            ("full credential", verify_credential, credentials),
            ("derived credential, 2 claims shown", verify_credential, derived),
        ):
            seconds = timed(lambda v=verify, i=items: [v(ledger, item) for item in i])  # type: ignore[operator]
            out.print(f"- {label}: {rate(count, seconds, 'verdicts')}")

        sample = requests_for(args.profiled, "P")
        batch = issue_documents(ledger, "moci", sample)
        targets = [document["signature"]["targetHash"] for document in batch.documents]
        seconds, profile = profiled(lambda: [credential_of(ledger, ADMIN, target) for target in targets])
        out.print("")
        out.print(f"where signing goes ({args.profiled} credentials, profiled): {breakdown(profile, seconds)}")
        full = [credential_of(ledger, ADMIN, target).credential for target in targets]
        seconds, profile = profiled(lambda: [verify_credential(ledger, credential) for credential in full])
        out.print(f"where verifying goes ({args.profiled} full credentials, profiled): {breakdown(profile, seconds)}")
        ledger.close()


if __name__ == "__main__":
    main()
