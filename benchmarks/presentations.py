"""Verified presentations (OpenID4VP + DCQL) beside the single verifications they are made of, on a local Anvil.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.presentations

One client, sequential calls, through the same use cases as the API. A relying party asks for three
documents and six claims (a commercial licence's trade name and number, a degree and its major, a
building permit's number and plot), with three rules. Each presentation is a new request, the holder's
answer (three copies showing only those claims: verified against the chain, held to the query and the
rules, kept) and the party collecting the result once. Beside it, the same three copies verified one by
one, as `POST /v1/verify` would: what a presentation costs over the verdicts it rests on. Twice: with
OpenAttestation copies (what the consent page sends), and with derived credentials (ecdsa-sd-2023).
The output is saved to `benchmarks/results/presentations.json`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.documents.wrap import obfuscate
from ledger.settings import Settings
from ledger.usecases.actors import ADMIN, Actor, Scope
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key, credential_of, derive_credential
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.presentation_answer import answer_request
from ledger.usecases.relying_parties import collect_result, create_request, register_relying_party
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.verify_credential import verify_submission

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
S = "credentialSubject"
# Per document: the example, its issuing agency, its query id and type, the claims asked, the fields hidden.
DOCUMENTS = [
    ("commercial-licence", "moci", "licence", "CommercialLicence", [["tradeName"], ["licenceNumber"]]),
    ("academic-certificate", "qu", "degree", "AcademicCertificate", [["degree"], ["major"]]),
    ("building-permit", "moci", "permit", "BuildingPermit", [["permitNumber"], ["plot"]]),
]
PURPOSE = {"en": "Business loan", "ar": "قرض تجاري"}
RULES = [
    {"credential": "licence", "status": "VALID"},
    {"credential": "licence", "valid_for_days": 90},
    {"credential": "permit", "path": [S, "plot", "zone"], "in": ["Al Waab"]},
]


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def query() -> dict[str, Any]:
    return {
        "credentials": [
            {
                "id": query_id,
                "format": "ldp_vc",
                "require_cryptographic_holder_binding": False,
                "meta": {"type_values": [[kind]]},
                "claims": [{"path": [S, *path]} for path in paths],
            }
            for _name, _agency, query_id, kind, paths in DOCUMENTS
        ]
    }


def rate(count: int, seconds: float, unit: str) -> str:
    return f"{count:,} in {seconds:.2f} s = {count / seconds:,.1f} {unit}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="presentations of each kind")
    args = parser.parse_args()
    with (
        Results("presentations") as out,
        tempfile.TemporaryDirectory() as folder,
        AnvilProcess(port=free_port()) as node,
    ):
        ledger = Ledger(Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False))
        ensure_deployment(ledger, redeploy_if_lost=False)
        for agency, name in (("moci", "Ministry of Commerce"), ("qu", "Qatar University")):
            register_agency(ledger, agency, name)
            add_issuer_key(ledger, agency)
            add_credential_key(ledger, agency)
        party = register_relying_party(ledger, party_id="bench-bank", name="Bank", name_ar="بنك", redirect_uris=[])
        bank = Actor(agency_id=None, scopes=frozenset({Scope.RELYING_PARTY}), relying_party_id=party.party.id)
        copies: dict[str, list[dict[str, Any]]] = {"OpenAttestation copies": [], "derived credentials": []}
        for name, agency, _query_id, _kind, paths in DOCUMENTS:
            request = example(name)
            (document,) = issue_documents(
                ledger, agency, [IssueRequest(request["document_type"], request["fields"])]
            ).documents
            kept = {path[0] for path in paths}
            hidden = [f"subject.{field}" for field in request["fields"] if field not in kept]
            copies["OpenAttestation copies"].append(obfuscate(document, hidden))
            credential = credential_of(ledger, ADMIN, document["signature"]["targetHash"]).credential
            assert credential is not None
            pointers = ["/" + "/".join([S, *path]) for path in paths]
            copies["derived credentials"].append(derive_credential(ledger, credential, pointers))
        asked = query()
        out.print(f"one client, in process; a presentation: 3 documents, 6 claims, {len(RULES)} rules")
        out.print(
            "| presented as | presentations (request, answer verified, result collected) | of which "
            "request / answer / collect | the same 3 documents verified one by one |"
        )
        out.print("|---|---|---|---|")
        for label, shown in copies.items():
            vp_token = {query_id: [copy] for (_n, _a, query_id, _k, _p), copy in zip(DOCUMENTS, shown, strict=True)}
            for copy in shown:  # warm: the agencies' names and the anchors' transactions are kept
                verify_submission(ledger, copy)
            stages = [0.0, 0.0, 0.0]
            for _ in range(args.count):
                marks = [time.perf_counter()]
                created = create_request(ledger, bank, dcql_query=asked, purpose=PURPOSE, rules=RULES)
                marks.append(time.perf_counter())
                answer = answer_request(ledger, created.row.id, state=created.row.state, vp_token=vp_token)
                marks.append(time.perf_counter())
                assert answer.accepted, answer.reasons
                assert collect_result(ledger, bank, created.row.id)["result"]["decision"] == "approve"
                marks.append(time.perf_counter())
                for stage in range(3):
                    stages[stage] += marks[stage + 1] - marks[stage]
            presented = sum(stages)
            split = " / ".join(f"{1000 * seconds / args.count:.1f} ms" for seconds in stages)
            start = time.perf_counter()
            for _ in range(args.count):
                for copy in shown:
                    assert verify_submission(ledger, copy).valid
            single = time.perf_counter() - start
            out.print(
                f"| {label} | {rate(args.count, presented, 'presentations')} | {split} "
                f"| {rate(args.count * 3, single, 'verdicts')} ({args.count / single:,.1f} sets of 3/s) |"
            )
        ledger.close()


if __name__ == "__main__":
    main()
