"""Digital Bazaar's verifier against a live Sijill service: the independent oracle of the credentials.

The service runs on 127.0.0.1 over a real chain. The oracle (npm `@digitalbazaar/vc` with the
`ecdsa-sd-2023` cryptosuite and `@digitalbazaar/vc-bitstring-status-list`) resolves the agency's did:web
and reads its status lists from the service over HTTP, as a wallet or verifier would. It verifies every
issued credential and every derived one, reads the same status as Sijill after a suspension, a
reinstatement and a revocation on chain, and refuses what Sijill refuses; Sijill in turn verifies the
copies the npm library derives.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.deployment import DeploymentRecord
from ledger.domain import ReasonCode
from ledger.usecases.actors import ADMIN, Actor
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key, credential_of, derive_credential
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.status import Action, change_status
from ledger.usecases.verify_credential import verify_credential
from ledger.vc.loader import BUNDLED
from tests.integration.conftest import licence
from tests.interop.node import run_node
from tests.nodes import ChainNode
from tests.service import ServerThread, serve

ORACLE = Path(__file__).resolve().parents[1] / "interop" / "vc_oracle.mjs"
SELECTIONS = [["/credentialSubject/licenceNumber"], ["/credentialSubject/tradeName/ar", "/credentialSubject/owner"]]


@pytest.fixture
def live(tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord) -> Iterator[tuple[Ledger, str]]:
    """The service on a free port, moci with an issuer key and a credential key; the ledger and its URL."""
    settings, port = serve(tmp_path, chain_node.url, deployment)
    ledger = Ledger(settings)
    register_agency(ledger, "moci", "Ministry of Commerce and Industry")
    add_issuer_key(ledger, "moci")
    add_credential_key(ledger, "moci")
    with ServerThread(ledger, port):
        yield ledger, settings.public_base_url
    ledger.close()


def oracle(
    ledger: Ledger, url: str, credentials: list[dict[str, Any]], derive: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    contexts = {context: ledger.contexts(context)["document"] for context in BUNDLED}
    # The verifier judges validity at the chain's time when it runs ahead of the wall clock: the session's
    # chain is shared with tests that move its clock forward, and credentials are dated by the chain.
    now = datetime.fromtimestamp(max(ledger.registry.chain_time(), time.time()), UTC).isoformat()
    request = {"credentials": credentials, "contexts": contexts, "service": url, "derive": derive or [], "now": now}
    return run_node(ORACLE, stdin=request, timeout=120)


def sijill(ledger: Ledger, credential: dict[str, Any]) -> tuple[str, dict[str, bool]]:
    """Sijill's verdict, and the status it implies in the lists' terms."""
    status = verify_credential(ledger, credential).status.value
    return status, {"revocation": status == "REVOKED", "suspension": status == "SUSPENDED"}


def test_digital_bazaar_reads_every_credential_and_its_status_as_sijill_does(live: tuple[Ledger, str]) -> None:
    ledger, url = live
    requests = [IssueRequest("commercial-licence", licence(f"CL-DB-{n}")["fields"]) for n in range(3)]
    batch = issue_documents(ledger, "moci", requests)
    targets = [document["signature"]["targetHash"] for document in batch.documents]
    full = [credential_of(ledger, ADMIN, target).credential for target in targets]
    assert all(credential is not None for credential in full)
    issued = [credential for credential in full if credential is not None]
    derived = [derive_credential(ledger, credential, selection) for credential in issued for selection in SELECTIONS]

    def agree(step: str) -> None:
        answers = oracle(ledger, url, derived)["answers"]
        for credential, answer in zip(derived, answers, strict=True):
            verdict, status = sijill(ledger, credential)
            # Digital Bazaar verifies the proof and the signed list, and reads the bits; Sijill judges by them too.
            assert answer["verified"], (step, answer["errors"])
            assert answer["status"] == status, (step, credential["id"], verdict, answer)

    agree("issued")
    change_status(ledger, Actor("moci"), targets[0], Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
    change_status(ledger, Actor("moci"), targets[1], Action.REVOKE, ReasonCode.FRAUD)
    agree("one suspended, one revoked")
    change_status(ledger, Actor("moci"), targets[0], Action.REINSTATE, ReasonCode.UNSPECIFIED)
    agree("reinstated")


def test_a_tampered_credential_fails_under_both(live: tuple[Ledger, str]) -> None:
    ledger, url = live
    batch = issue_documents(ledger, "moci", [IssueRequest("commercial-licence", licence("CL-DB-T")["fields"])])
    credential = credential_of(ledger, ADMIN, batch.documents[0]["signature"]["targetHash"]).credential
    assert credential is not None
    derived = derive_credential(ledger, credential, ["/credentialSubject/licenceNumber"])
    forged = copy.deepcopy(derived)
    forged["credentialSubject"]["licenceNumber"] = "CL-2026-999999"
    moved = copy.deepcopy(derived)
    moved["validUntil"] = "2099-01-01T00:00:00Z"
    answers = oracle(ledger, url, [forged, moved])["answers"]
    for tampered, answer in zip((forged, moved), answers, strict=True):
        assert not answer["verified"]
        assert sijill(ledger, tampered)[0] == "TAMPERED"


def test_sijill_verifies_what_the_npm_library_derives(live: tuple[Ledger, str]) -> None:
    ledger, url = live
    batch = issue_documents(ledger, "moci", [IssueRequest("commercial-licence", licence("CL-DB-D")["fields"])])
    credential = credential_of(ledger, ADMIN, batch.documents[0]["signature"]["targetHash"]).credential
    assert credential is not None
    derive = [{"credential": credential, "pointers": selection} for selection in SELECTIONS]
    answer = oracle(ledger, url, [], derive)
    assert len(answer["derived"]) == len(SELECTIONS)
    for selection, copy_ in zip(SELECTIONS, answer["derived"], strict=True):
        assert "nationalId" not in str(copy_) or "/credentialSubject/owner" in selection
        assert sijill(ledger, copy_)[0] == "VALID", selection
