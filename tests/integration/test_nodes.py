"""Verdicts that rest on the network, not on one node: three endpoints (proxies in front of the real
Anvil) that fail, lag and lie, and what the verifier makes of them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.chain.deployment import DeploymentRecord
from ledger.chain.layout import ANCHORS_SLOT, agency_slots, mapping_slot
from ledger.chain.proofs import header_hash
from ledger.chain.quorum import PinnedBlock
from ledger.documents.wrap import wrap_documents
from ledger.domain import ReasonCode
from ledger.errors import ChainUnavailableError, LedgerNodesDisagreeError
from ledger.settings import Settings
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from ledger.usecases.council import pause_registry
from ledger.usecases.issuance import IssueRequest, build_document_data, issue_documents
from ledger.usecases.status import Action, change_status
from ledger.usecases.verify import verify_document
from ledger.verification import VerificationStatus
from tests.integration.conftest import example, make_settings
from tests.nodes import ChainNode
from tests.rpc_proxy import RpcProxy

ACTIVE_WORDS = {8: 1, 9: 0, 10: 0, 11: 0}  # inspect's batch status, its reason, the document's status and reason


@pytest.fixture
def proxies(chain_node: ChainNode) -> Iterator[list[RpcProxy]]:
    """Three endpoints of the one chain, honest until a test says otherwise."""
    started = [RpcProxy(chain_node.url) for _ in range(3)]
    yield started
    for proxy in started:
        proxy.close()


def verifier(
    tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord, proxies: list[RpcProxy], **options: Any
) -> Ledger:
    """A verifying installation that reads the chain through the three proxies."""
    settings = make_settings(tmp_path, chain_node, deployment, f"sqlite:///{tmp_path / 'sijill.db'}")
    return Ledger(settings.model_copy(update={"rpc_urls": [proxy.url for proxy in proxies], **options}))


def issued(ledger: Ledger, state: str) -> dict[str, Any]:
    """A licence issued by moci, then left valid, revoked or suspended."""
    request = example("commercial-licence")
    batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])])
    document = batch.documents[0]
    if state == "revoked":
        change_status(ledger, Actor("moci"), batch.merkle_root, Action.REVOKE, ReasonCode.FRAUD)
    elif state == "suspended":
        change_status(ledger, Actor("moci"), batch.merkle_root, Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
    return dict(document)


def unknown(ledger: Ledger) -> dict[str, Any]:
    """A well-formed licence of moci whose root was never anchored."""
    request = example("commercial-licence")
    agency = ledger.store.get_agency("moci")
    assert agency is not None
    return dict(wrap_documents([build_document_data(ledger, agency, IssueRequest(**request))])[0])


def forge_inspect(words: dict[int, int]) -> Callable[[list[Any], Any], Any]:
    """A liar's `eth_call`: the registry's answer with some of inspect's words replaced."""

    def rewrite(_params: list[Any], result: Any) -> Any:
        raw = bytearray(bytes.fromhex(result[2:]))
        if len(raw) == 32 * 14:
            for index, value in words.items():
                raw[index * 32 : (index + 1) * 32] = value.to_bytes(32, "big")
        return "0x" + raw.hex()

    return rewrite


def forge_storage(values: dict[int, int]) -> Callable[[list[Any], Any], Any]:
    """A liar's `eth_getProof`: some slots' values replaced, in the answer and in the proof's leaf node
    (so that the proof reads the forged value, and no longer hashes up to the state root)."""

    def rewrite(_params: list[Any], result: Any) -> Any:
        for entry in result["storageProof"]:
            slot = int(entry["key"], 16)
            if slot in values:
                entry["value"] = hex(values[slot])
                leaf = rlp.decode(bytes.fromhex(entry["proof"][-1][2:]))
                if len(leaf) == 2:  # the slot exists: its leaf says the forged value (a slot never written has none)
                    forged = rlp.encode(values[slot].to_bytes((values[slot].bit_length() + 7) // 8, "big"))
                    entry["proof"][-1] = "0x" + rlp.encode([leaf[0], forged]).hex()
        return result

    return rewrite


def forge_header(params: list[Any], block: Any) -> Any:
    """A liar's header that hangs together: another state root, and the hash of the forged fields."""
    if isinstance(block, dict):
        block = {**block, "stateRoot": "0x" + "ee" * 32}
        block["hash"] = header_hash(block)
    return block


def lie_active(proxy: RpcProxy, document: dict[str, Any]) -> None:
    """`proxy` claims the document's batch and record are active, in its answer and in its proof's values."""
    root = bytes.fromhex(document["signature"]["merkleRoot"])
    proxy.rewrite["eth_call"] = forge_inspect(ACTIVE_WORDS)
    # An active anchor word: key 1, agency 1, anchored at block 1, one document, status ACTIVE.
    active = 1 | (1 << 32) | (1 << 64) | (1 << 104) | (1 << 184) | (1 << 216)
    proxy.rewrite["eth_getProof"] = forge_storage({mapping_slot(root, ANCHORS_SLOT): active})


def test_reads_fail_over_and_health_names_the_node_that_is_down(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    document = issued(ledger, "valid")
    reader = verifier(tmp_path, chain_node, deployment, proxies)
    try:
        proxies[0].down = True
        assert verify_document(reader, document).status is VerificationStatus.VALID
        health = {node.url: node for node in reader.nodes.health()}
        assert health[proxies[0].url].height is None
        assert health[proxies[0].url].last_error
        assert health[proxies[1].url].lag == 0
        report = TestClient(create_app(ledger=reader)).get("/health")
        assert report.status_code == 200  # one endpoint of three down: verdicts go on
        chain = report.json()["chain"]
        assert chain["status"] == "degraded"
        nodes = {node["url"]: node for node in chain["nodes"]}
        assert "cannot be reached" in nodes[proxies[0].url]["last_error"]
        assert nodes[proxies[2].url]["height"] == ledger.registry.block_number()
        for proxy in proxies:
            proxy.down = True
        with pytest.raises(ChainUnavailableError, match="none of the chain's 3 endpoints answers"):
            verify_document(reader, document)
        assert TestClient(create_app(ledger=reader)).get("/health").json()["chain"]["status"] == "unavailable"
    finally:
        reader.close()


@pytest.mark.parametrize("state", ["revoked", "suspended", "unknown"])
@pytest.mark.parametrize("proofs", [False, True], ids=["quorum", "proofs"])
def test_with_three_endpoints_one_liar_never_changes_a_verdict(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy], state: str, proofs: bool,
) -> None:  # fmt: skip
    """A quorum of 2 of 3 with one endpoint claiming the document is active: the verdict is the truth."""
    valid = issued(ledger, "valid")
    document = unknown(ledger) if state == "unknown" else issued(ledger, state)
    expected = {"revoked": "REVOKED", "suspended": "SUSPENDED", "unknown": "NOT_ISSUED"}[state]
    reader = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=proofs)
    try:
        for liar in range(3):
            for proxy in proxies:
                proxy.honest()
            lie_active(proxies[liar], document)
            result = verify_document(reader, document)
            assert result.status.value == expected, (liar, result.summary)
            read = next(check for check in result.checks if check.name == "ledger_read").evidence
            assert read["proof"] is proofs
            assert len(read["agreed"]) >= 2
            assert proxies[liar].requests > 0  # the liar was asked, and not believed
        assert verify_document(reader, valid).status is VerificationStatus.VALID
    finally:
        reader.close()


def test_a_quorum_of_three_with_one_liar_reports_the_disagreement_and_no_verdict(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    document = issued(ledger, "revoked")
    reader = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=3)
    try:
        lie_active(proxies[2], document)
        with pytest.raises(LedgerNodesDisagreeError) as raised:
            verify_document(reader, document)
        answers = {answer["url"]: answer for answer in raised.value.answers}
        assert answers[proxies[2].url]["answer"]["batch_status"] == "ACTIVE"
        assert answers[proxies[0].url]["answer"]["batch_status"] == "REVOKED"
        client = TestClient(create_app(ledger=reader))
        response = client.post("/v1/verify", json=document)
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "ledger_nodes_disagree"
        assert "not a verdict on the document" in error["message"]
        assert len(error["nodes"]) == 3
    finally:
        reader.close()


def test_proofs_refuse_a_forged_value_two_liars_agree_on(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    """Two of three claim the revoked licence is active, in their answers and their proofs' values, with true
    headers: a plain quorum of 2 would believe them; proof mode finds their proofs lead nowhere."""
    document = issued(ledger, "revoked")
    for liar in proxies[:2]:
        lie_active(liar, document)
    plain = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2)
    proven = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    try:
        assert verify_document(plain, document).status is VerificationStatus.VALID  # what a quorum alone risks
        result = verify_document(proven, document)
        assert result.status is VerificationStatus.REVOKED
        read = next(check for check in result.checks if check.name == "ledger_read").evidence
        assert read["proven_by"] == proxies[2].url
        assert read["state_root"]
        refused = {answer["url"]: answer["error"] for answer in read["nodes"]}
        for liar in proxies[:2]:
            assert "not borne out by its proof" in refused[liar.url], refused
            # The forged leaf leads nowhere; or, where another slot's proof (a proof of absence ending at
            # that leaf) carries the true leaf, the walk from the root reads the true value instead.
            reason = refused[liar.url]
            assert "does not lead to its root" in reason or "its proof says" in reason, refused
    finally:
        plain.close()
        proven.close()


FORGED_NAME = "Ministry of Forgery"


def lie_about_the_name(proxy: RpcProxy, registry_name_slot: int) -> None:
    """`proxy` answers `agency(id)` with another name, and puts that name in its proof of the name's word."""
    selector = function_signature_to_4byte_selector("agency(bytes32)").hex()

    def rewrite(params: list[Any], result: Any) -> Any:
        if str(params[0].get("data", "")).removeprefix("0x").startswith(selector):
            status, _name, admin, keys = decode(["uint8", "string", "address", "uint256"], bytes.fromhex(result[2:]))
            return "0x" + encode(["uint8", "string", "address", "uint256"], [status, FORGED_NAME, admin, keys]).hex()
        return result

    short = FORGED_NAME.encode().ljust(31, b"\0") + bytes([2 * len(FORGED_NAME)])
    proxy.rewrite["eth_call"] = rewrite
    proxy.rewrite["eth_getProof"] = forge_storage({registry_name_slot: int.from_bytes(short, "big")})


def test_the_issuers_name_is_the_networks_not_the_first_endpoints(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    """The verdict names who issued the document. The first endpoint (and, in proof mode, the second too)
    names the agency otherwise, in its answer and in its proof: a quorum takes the name most agree on,
    and proof mode the one the state root bears out."""
    document = issued(ledger, "valid")
    true_name = ledger.registry.agency_name("moci")
    _id_slot, name_slot = agency_slots(1)  # moci is the registry's first agency
    lie_about_the_name(proxies[0], name_slot)
    plain = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2)
    try:
        result = verify_document(plain, document)
        assert result.status is VerificationStatus.VALID
        assert result.issuer is not None
        assert result.issuer["name"] == true_name
    finally:
        plain.close()
    lie_about_the_name(proxies[1], name_slot)
    proven = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    try:
        result = verify_document(proven, document)
        assert result.status is VerificationStatus.VALID
        assert result.issuer is not None
        assert result.issuer["name"] == true_name
        assert FORGED_NAME not in result.summary
        assert "Ministry of Forgery" not in json.dumps(result.as_dict())
    finally:
        proven.close()


def test_forged_headers_are_refused_by_a_checkpoint_pin_and_reported_by_a_quorum_of_three(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    """Two liars serve a header of their own (another state root, hashed consistently) with their forged
    values: pinned to the auditor's block, their headers do not match; a quorum of 3 sees the split."""
    document = issued(ledger, "revoked")
    head = ledger.registry.block_number()
    true_hash = ledger.registry.events(ledger.artifact.abi).block_hashes([head])[head]
    assert true_hash is not None
    for liar in proxies[:2]:
        lie_active(liar, document)
        liar.rewrite["eth_getBlockByNumber"] = forge_header
    pinned = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    everyone = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=3, verify_proofs=True)
    try:
        result = verify_document(pinned, document, pinned=PinnedBlock(number=head, hash="0x" + true_hash))
        assert result.status is VerificationStatus.REVOKED
        read = next(check for check in result.checks if check.name == "ledger_read").evidence
        assert (read["pinned_to_checkpoint"], read["agreed"]) == (True, [proxies[2].url])
        with pytest.raises(LedgerNodesDisagreeError):
            verify_document(pinned, document)  # unpinned, the two liars agree on their header, not on a proof
        with pytest.raises(LedgerNodesDisagreeError):
            verify_document(everyone, document)
    finally:
        pinned.close()
        everyone.close()


def test_a_slow_or_lagging_endpoint_does_not_hold_a_verdict_back(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    document = issued(ledger, "valid")
    reader = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    try:
        proxies[0].stale_by = 3  # it says it is behind: the block two others have is the one read
        result = verify_document(reader, document)
        assert result.status is VerificationStatus.VALID
        read = next(check for check in result.checks if check.name == "ledger_read").evidence
        assert read["block_number"] == ledger.registry.block_number()
    finally:
        reader.close()


def test_settings_take_a_list_of_endpoints_and_refuse_a_quorum_beyond_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIJILL_RPC_URLS", "http://127.0.0.1:1, http://127.0.0.1:2,http://127.0.0.1:3")
    monkeypatch.setenv("SIJILL_VERIFY_QUORUM", "2")
    assert Settings().endpoints == ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
    monkeypatch.setenv("SIJILL_VERIFY_QUORUM", "4")
    with pytest.raises(Exception, match="SIJILL_VERIFY_QUORUM=4 needs at least that many endpoints"):
        Settings()
    monkeypatch.delenv("SIJILL_RPC_URLS")
    monkeypatch.setenv("SIJILL_VERIFY_QUORUM", "1")
    assert Settings(rpc_url="http://127.0.0.1:9").endpoints == ["http://127.0.0.1:9"]


def test_the_proven_view_is_the_registrys_own_answer_in_every_state(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    """Rebuilt from proven storage words alone, `inspect` reads as the contract computes it: a valid
    document, one revoked by itself in a batch of two (its own record, with its agency), a suspended
    batch, a root never anchored, and all of them while the registry is paused."""
    request = example("commercial-licence")
    pair = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])] * 2)
    alone = pair.documents[0]
    change_status(ledger, Actor("moci"), alone["signature"]["targetHash"], Action.REVOKE, ReasonCode.SUPERSEDED)
    documents = [pair.documents[1], alone, issued(ledger, "suspended"), unknown(ledger), issued(ledger, "valid")]
    reader = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    assert reader.quorum is not None
    try:
        for paused in (False, True):
            if paused:
                pause_registry(ledger)
            for document in documents:
                target, root = document["signature"]["targetHash"], document["signature"]["merkleRoot"]
                read = reader.quorum.inspect(target, root)
                assert read.view == ledger.registry.inspect(target, root, block=read.block_number)
                assert read.view.paused is paused
    finally:
        reader.close()


def test_a_relying_party_checks_a_document_against_nodes_of_its_choosing(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, proxies: list[RpcProxy]
) -> None:
    """`sijill verify --rpc ... --quorum 2 --proof`: no service, no database, no deployment file; one of
    the three nodes lies and is not believed. Pinned to an auditor's checkpoint, the check names no registry."""
    from typer.testing import CliRunner

    from cli.main import app
    from ledger.usecases.audit import run_audit

    document = issued(ledger, "revoked")
    path = tmp_path / "licence.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    lie_active(proxies[1], document)
    nodes = [option for proxy in proxies for option in ("--rpc", proxy.url)]
    runner = CliRunner()
    own = [str(path), *nodes, "--quorum", "2", "--proof", "--json"]
    answer = runner.invoke(app, ["verify", *own, "--registry", ledger.registry.address])
    assert answer.exit_code == 1, answer.output
    result = json.loads(answer.output)
    assert result["status"] == "REVOKED"
    read = next(check for check in result["checks"] if check["name"] == "ledger_read")["evidence"]
    assert read["proof"] is True
    assert read["proven_by"] != proxies[1].url
    refused = runner.invoke(app, ["verify", *own])
    assert refused.exit_code == 2
    assert "name the registry you trust" in " ".join(refused.output.split())

    run = run_audit(ledger, folder=tmp_path / "audit")
    checkpoint = tmp_path / "checkpoint.json"
    run.checkpoint.save(checkpoint)
    pinned = runner.invoke(app, ["verify", *own, "--checkpoint", str(checkpoint), "--auditor", run.checkpoint.auditor])
    assert pinned.exit_code == 1, pinned.output
    read = next(check for check in json.loads(pinned.output)["checks"] if check["name"] == "ledger_read")["evidence"]
    assert (read["pinned_to_checkpoint"], read["block_number"]) == (True, run.checkpoint.block_number)
    wrong = runner.invoke(app, ["verify", *own, "--checkpoint", str(checkpoint), "--auditor", "00" * 32])
    assert wrong.exit_code == 2
    assert "not signed by auditor" in " ".join(wrong.output.split())


def test_an_endpoint_that_answers_nonsense_is_set_aside_and_never_crashes_a_verdict(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    """A height that is no number, a header with a negative field: the endpoint is noted and left out, and
    the two others give the verdict."""
    document = issued(ledger, "revoked")
    reader = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    try:
        proxies[0].rewrite["eth_blockNumber"] = lambda _params, _result: "0xzz"
        assert verify_document(reader, document).status is VerificationStatus.REVOKED
        proxies[0].honest()
        proxies[1].rewrite["eth_getBlockByNumber"] = lambda _params, block: {**block, "difficulty": "-0x1"}
        reader.quorum._blocks.clear()  # type: ignore[union-attr]  # the header asked again, of each endpoint
        result = verify_document(reader, document)
        assert result.status is VerificationStatus.REVOKED
        read = next(check for check in result.checks if check.name == "ledger_read").evidence
        assert proxies[1].url not in read["agreed"]
        assert {node.url: node.last_error for node in reader.nodes.health()}[proxies[1].url]
    finally:
        reader.close()


def test_a_remembered_anchor_never_outlives_what_the_block_read_says(
    ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord,
    proxies: list[RpcProxy],
) -> None:  # fmt: skip
    """The agency and key of a root, remembered from a read at the head, do not hold at a block before the
    root was anchored: pinned there, the read says NOT_ISSUED, and no endpoint is blamed."""
    before = ledger.registry.block_number()
    before_hash = ledger.registry.events(ledger.artifact.abi).block_hashes([before])[before]
    document = issued(ledger, "valid")
    reader = verifier(tmp_path, chain_node, deployment, proxies, verify_quorum=2, verify_proofs=True)
    try:
        assert verify_document(reader, document).status is VerificationStatus.VALID  # remembered now
        pinned = PinnedBlock(number=before, hash="0x" + str(before_hash))
        assert verify_document(reader, document, pinned=pinned).status is VerificationStatus.NOT_ISSUED
        assert all(node.last_error is None for node in reader.nodes.health())
    finally:
        reader.close()
