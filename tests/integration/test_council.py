"""The council, 2 of 3 on Anvil with a delay: proposals, approvals, the delay, and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from web3 import Web3

from ledger.audit.checkpoint import sign
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.council import SafeTransaction
from ledger.chain.rpc import connect
from ledger.council import GUARDIAN_ROLE, encode_call
from ledger.domain import ReasonCode
from ledger.errors import (
    AlreadyApprovedError,
    ConflictError,
    NotCouncilMemberError,
    ProposalExpiredError,
    ProposalNotReadyError,
    ProposalPendingError,
    RegistryNotPausedError,
)
from ledger.settings import DEV_COUNCIL_KEYS
from ledger.usecases.actors import ADMIN
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.audit import run_audit, verify_checkpoint
from ledger.usecases.context import Ledger
from ledger.usecases.council import approve, enact, execute, list_proposals, pause_registry, propose, status
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.sending import send_call
from ledger.usecases.status import Action, change_status
from tests.conftest import chain_node_for
from tests.integration.conftest import deploy_with_council, example, make_settings
from tests.nodes import ChainNode

DELAY = 600
MEMBERS = [Account.from_key(key) for key in DEV_COUNCIL_KEYS]


@pytest.fixture(scope="module")
def own_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainNode]:
    """A chain of this module's own: its tests move the clock by days, which others must not see."""
    yield from chain_node_for(tmp_path_factory, "council-chain")


@pytest.fixture
def web3(own_node: ChainNode) -> Web3:
    """A client of this module's chain."""
    return connect(own_node.url)


@pytest.fixture
def council_ledger(tmp_path: Path, web3: Web3, own_node: ChainNode, artifact: ContractArtifact) -> Iterator[Ledger]:
    """An installation whose council waits DELAY seconds, and whose service holds one member's key."""
    deployment = deploy_with_council(web3, own_node, artifact, delay=DELAY)
    settings = make_settings(tmp_path, own_node, deployment, f"sqlite:///{tmp_path / 'sijill.db'}")
    settings = settings.model_copy(update={"council_member_keys": settings.council_member_keys[:1]})
    ledger = Ledger(settings)
    yield ledger
    ledger.close()


@pytest.fixture
def ledger(tmp_path: Path, web3: Web3, own_node: ChainNode, artifact: ContractArtifact) -> Iterator[Ledger]:
    """An installation holding every development member's key, its council without delay."""
    deployment = deploy_with_council(web3, own_node, artifact)
    context = Ledger(make_settings(tmp_path, own_node, deployment, f"sqlite:///{tmp_path / 'sijill.db'}"))
    yield context
    context.close()


def _later(web3: Web3, seconds: int) -> None:
    web3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def admit(ledger: Ledger, agency: str) -> int:
    return propose(
        ledger, MEMBERS[0], "admit-agency", {"agency_id": agency, "name": agency.upper(), "admin": _new()}
    ).id


def _new() -> str:
    return str(Account.create().address)


def test_one_approval_does_not_execute_two_wait_for_the_delay_then_it_does(council_ledger: Ledger, web3: Web3) -> None:
    ledger = council_ledger
    proposal = admit(ledger, "moci")
    view = status(ledger, proposal)
    assert (view.state, list(view.approvals), view.threshold) == ("proposed", [MEMBERS[0].address], 2)
    assert view.words.startswith("admit agency 'moci' (MOCI) with admin 0x")
    with pytest.raises(ProposalNotReadyError, match="has 1 of the 2 approvals"):
        execute(ledger, MEMBERS[2], proposal)
    assert ledger.registry.agency_name("moci") is None

    view = approve(ledger, MEMBERS[1], proposal)  # the second approval schedules it
    assert view.state == "scheduled"
    assert view.executable_at is not None
    assert view.executable_at >= ledger.registry.chain_time() + DELAY - 5
    with pytest.raises(ProposalNotReadyError, match="the council's delay") as early:
        execute(ledger, MEMBERS[2], proposal)
    assert early.value.retry_after is not None
    assert early.value.retry_after > DELAY - 10
    assert ledger.registry.agency_name("moci") is None

    _later(web3, DELAY)
    view = execute(ledger, MEMBERS[2], proposal)  # anyone may execute: here the third member
    assert view.state == "executed"
    assert view.executed_tx
    assert ledger.registry.agency_name("moci") == "MOCI"
    assert sorted(view.approvals) == sorted([MEMBERS[0].address, MEMBERS[1].address])
    with pytest.raises(ConflictError, match="executed already"):
        execute(ledger, MEMBERS[2], proposal)


def test_wrong_member_duplicate_and_closed_approvals_are_refused(council_ledger: Ledger) -> None:
    ledger = council_ledger
    proposal = admit(ledger, "qu")
    stranger = Account.from_key("0x" + "42" * 32)
    with pytest.raises(NotCouncilMemberError, match="is not a member of the council"):
        approve(ledger, stranger, proposal)
    with pytest.raises(NotCouncilMemberError):
        propose(ledger, stranger, "unpause", {})
    with pytest.raises(AlreadyApprovedError, match="approved proposal #"):
        approve(ledger, MEMBERS[0], proposal)
    approve(ledger, MEMBERS[1], proposal)
    with pytest.raises(ConflictError, match="approvals are closed"):
        approve(ledger, MEMBERS[2], proposal)


def test_an_approval_after_the_proposal_expired_is_refused(council_ledger: Ledger, web3: Web3) -> None:
    ledger = council_ledger
    proposal = admit(ledger, "mme")
    _later(web3, ledger.settings.council_proposal_ttl_seconds + 1)
    assert status(ledger, proposal).state == "expired"
    with pytest.raises(ProposalExpiredError, match="expired at"):
        approve(ledger, MEMBERS[1], proposal)
    with pytest.raises(ProposalExpiredError):
        execute(ledger, MEMBERS[1], proposal)


def test_open_proposals_share_the_next_nonce_and_the_first_scheduled_takes_it(
    council_ledger: Ledger, web3: Web3
) -> None:
    """The Safe runs one transaction per nonce: the proposal that gathers its approvals first
    takes it, the other expires (to be proposed again), so an abandoned one never blocks."""
    ledger = council_ledger
    first, second = admit(ledger, "a1"), admit(ledger, "a2")
    assert status(ledger, second).safe_nonce == status(ledger, first).safe_nonce
    assert approve(ledger, MEMBERS[1], second).state == "scheduled"
    assert status(ledger, first).state == "expired"
    with pytest.raises(ProposalExpiredError, match="gathered its approvals first"):
        approve(ledger, MEMBERS[1], first)
    again = admit(ledger, "a1")
    approve(ledger, MEMBERS[1], again)
    _later(web3, DELAY)
    for proposal in (second, again):
        assert execute(ledger, MEMBERS[2], proposal).state == "executed"
    assert [view.state for view in list_proposals(ledger)] == ["executed", "executed", "expired"]


def test_a_service_holding_one_key_leaves_the_action_waiting_for_the_members(council_ledger: Ledger) -> None:
    with pytest.raises(ProposalPendingError, match="waits for 1 more approval") as pending:
        register_agency(council_ledger, "moci", "Ministry of Commerce")
    assert status(council_ledger, pending.value.proposal_id).action == "admit-agency"
    assert council_ledger.store.get_agency("moci") is None


def test_the_council_changes_itself_through_the_delay_too(council_ledger: Ledger, web3: Web3) -> None:
    ledger = council_ledger
    newcomer = Account.create()
    proposal = propose(ledger, MEMBERS[0], "add-member", {"address": newcomer.address, "threshold": 3}).id
    approve(ledger, MEMBERS[1], proposal)
    assert newcomer.address not in ledger.council.members()  # type: ignore[union-attr]
    _later(web3, DELAY)
    execute(ledger, MEMBERS[2], proposal)
    council = ledger.council
    assert council is not None
    assert newcomer.address in council.members()
    assert council.threshold() == 3


def test_without_enough_keys_enact_needs_the_members(council_ledger: Ledger) -> None:
    with pytest.raises(RegistryNotPausedError):  # tried at once: what would revert is never proposed
        enact(council_ledger, "unpause", {})
    assert list_proposals(council_ledger) == []
    pause_registry(council_ledger)  # the operator is a guardian
    with pytest.raises(ProposalPendingError):
        enact(council_ledger, "unpause", {})


def test_the_audit_checks_that_governance_came_through_the_council(ledger: Ledger, tmp_path: Path) -> None:
    """A clean history passes with its governance counted; members changing the Safe directly,
    around the timelock, are named."""
    register_agency(ledger, "moci", "Ministry of Commerce")
    run = run_audit(ledger, folder=tmp_path / "audit")
    assert run.findings == []
    assert run.checked["governance events"] >= 3  # the council's role, the guardian, the admission
    assert run.checked["council executions"] == run.checked["council schedules"] == 1
    # The checkpoint signs the council's events too; a council history that hashes otherwise is a rewrite.
    assert run.checkpoint.council_event_count == run.checked["council events"] >= 4
    assert verify_checkpoint(ledger, run.checkpoint) == []
    forged = sign(replace(run.checkpoint, council_event_count=1), Ed25519PrivateKey.generate())
    assert [finding.rule for finding in verify_checkpoint(ledger, forged)] == ["council-history"]

    council = ledger.council
    assert council is not None
    direct = SafeTransaction(
        to=council.safe,
        data=encode_call("addOwnerWithThreshold(address,uint256)", ["address", "uint256"], [_new(), 2]),
        nonce=council.safe_nonce(),
    )
    safe_hash = council.transaction_hash(direct)
    for member in MEMBERS[:2]:
        send_call(ledger, member, council.safe, council.approve_call(safe_hash))
    run = council.safe_transaction_call(direct, [member.address for member in MEMBERS[:2]])
    send_call(ledger, MEMBERS[0], council.safe, run, decoder=council.decoder)
    run = run_audit(ledger, folder=tmp_path / "audit")
    assert [(finding.rule, finding.evidence["event"]) for finding in run.findings] == [("council-change", "AddedOwner")]
    assert "without the timelock's delay" in run.findings[0].message


def test_the_audit_accepts_an_emergency_revocation_during_a_pause_and_a_renounced_role(
    ledger: Ledger, tmp_path: Path
) -> None:
    """The documented incident flow: a guardian pauses, the council revokes, then unpauses; a guardian
    renouncing its own role needs no council. Neither is a finding."""
    register_agency(ledger, "moci", "Ministry of Commerce")
    add_issuer_key(ledger, "moci")
    request = example("commercial-licence")
    batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])])
    pause_registry(ledger)
    change_status(ledger, ADMIN, batch.merkle_root, Action.REVOKE, ReasonCode.KEY_COMPROMISE)
    enact(ledger, "unpause", {})
    guardian = Account.create()
    send_call(ledger, ledger.admin, guardian.address, value=10**17)
    enact(ledger, "add-guardian", {"address": guardian.address})
    renounce = encode_call("renounceRole(bytes32,address)", ["bytes32", "address"], [GUARDIAN_ROLE, guardian.address])
    send_call(ledger, guardian, ledger.registry.address, renounce)
    run = run_audit(ledger, folder=tmp_path / "audit")
    assert run.findings == []
    assert run.checked["council executions"] == 4  # admission, revocation, unpause, guardian
