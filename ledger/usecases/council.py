"""The council's proposals: propose, approve, execute, and what each one stands at.

A proposal is one action (`ledger.council`). Its proposer approves it as it proposes; once M
members approved, the approval that completes the count also schedules it on the timelock
(the Safe transaction); after the delay, `execute` (anyone) carries it out. The Safe runs
one transaction per nonce: open proposals share the next one, the first scheduled takes it,
and the others expire (propose them again). Approvals and the
schedule live on chain; the store keeps what is needed to rebuild the calls.

A deployment without a council (contract tests, older records) has a plain key as the
registry's council: `enact` then sends the action with that key.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from ledger.chain.council import CouncilClient, SafeTransaction
from ledger.chain.signer import Signer
from ledger.council import Target, build_call, canonical_args
from ledger.domain import TxReceipt
from ledger.errors import (
    AlreadyApprovedError,
    ConfigurationError,
    ConflictError,
    NotCouncilMemberError,
    ProposalExpiredError,
    ProposalNotFoundError,
    ProposalNotReadyError,
    ProposalPendingError,
)
from ledger.store.models import ProposalRow
from ledger.usecases.context import Ledger
from ledger.usecases.sending import send_call

DONE = 1  # the timelock's timestamp of an executed operation


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposal as people read it: the action in words, who approved when, and when it can run."""

    id: int
    action: str
    words: str
    arguments: dict[str, Any]
    state: str  # proposed | scheduled | executable | executed | expired
    approvals: dict[str, int]  # member -> unix time of the approval's block
    threshold: int
    executable_at: int | None
    expires_at: int
    safe_nonce: int
    safe_hash: str
    scheduled_tx: str | None
    executed_tx: str | None

    def as_dict(self) -> dict[str, Any]:
        """The proposal as JSON-ready data."""
        return {
            "id": self.id,
            "action": self.action,
            "words": self.words,
            "arguments": self.arguments,
            "state": self.state,
            "approvals": [{"member": member, "at": at} for member, at in sorted(self.approvals.items())],
            "threshold": self.threshold,
            "executable_at": self.executable_at,
            "expires_at": self.expires_at,
            "safe_nonce": self.safe_nonce,
            "safe_hash": self.safe_hash,
            "scheduled_tx": self.scheduled_tx,
            "executed_tx": self.executed_tx,
        }


def require_council(ledger: Ledger) -> CouncilClient:
    """The deployment's council. Raises `ConflictError` when its registry is governed by a plain key."""
    council = ledger.council
    if council is None:
        raise ConflictError("this deployment's registry is governed by a single key, not by a council")
    return council


def _target_address(ledger: Ledger, council: CouncilClient, target: Target) -> str:
    return {Target.REGISTRY: ledger.registry.address, Target.TIMELOCK: council.timelock, Target.SAFE: council.safe}[
        target
    ]


def _on_council(council: CouncilClient) -> dict[str, Any]:
    """How a call of the Safe is simulated: on the pending block (now, not the latest block's time),
    its refusals decoded with the timelock's and the registry's errors."""
    return {"simulate_on": "pending", "decoder": council.decoder}


def _require_member(council: CouncilClient, member: Signer) -> list[str]:
    members = council.members()
    if member.address not in members:
        raise NotCouncilMemberError(f"{member.address} is not a member of the council ({', '.join(members)})")
    return members


def propose(ledger: Ledger, member: Signer, action: str, arguments: dict[str, Any]) -> ProposalView:
    """Propose `action` and approve it as `member`.

    Raises `NotCouncilMemberError`, `InvalidRequestError` for a bad action, and chain errors.
    """
    council = require_council(ledger)
    members = _require_member(council, member)
    call = build_call(action, arguments, safe=council.safe, members=members)
    target = _target_address(ledger, council, call.target)
    # The action as the timelock will run it, tried now: one that would revert is refused before any approval.
    ledger.registry.transactions.estimate_gas(council.timelock, target, "0x" + call.data.hex(), decoder=council.decoder)
    delay = council.min_delay()
    # Every open proposal takes the Safe's next nonce: the first to gather M approvals is
    # scheduled and the others turn expired (superseded), so an abandoned one never blocks.
    nonce = council.safe_nonce()
    salt = os.urandom(32)
    transaction = council.schedule_transaction(target, call.data, salt, delay, nonce)
    safe_hash = council.transaction_hash(transaction)
    now = ledger.registry.chain_time()
    row = ledger.proposals.add(
        ProposalRow(
            action=action,
            arguments=canonical_args(arguments),
            words=call.words,
            target=target,
            calldata="0x" + call.data.hex(),
            salt="0x" + salt.hex(),
            delay=delay,
            safe_nonce=nonce,
            safe_hash="0x" + safe_hash.hex(),
            proposed_by=member.address,
            proposed_block=ledger.registry.block_number(),
            expires_at=now + ledger.settings.council_proposal_ttl_seconds,
        )
    )
    return approve(ledger, member, row.id)


def _row(ledger: Ledger, proposal_id: int) -> ProposalRow:
    row = ledger.proposals.get(proposal_id)
    if row is None:
        raise ProposalNotFoundError(f"no council proposal #{proposal_id}")
    return row


def _parts(row: ProposalRow, council: CouncilClient) -> tuple[bytes, bytes, SafeTransaction]:
    data, salt = bytes.fromhex(row.calldata[2:]), bytes.fromhex(row.salt[2:])
    return data, salt, council.schedule_transaction(row.target, data, salt, row.delay, row.safe_nonce)


def approve(ledger: Ledger, member: Signer, proposal_id: int) -> ProposalView:
    """`member` approves proposal `proposal_id`; the approval that completes M also schedules it.

    Raises `ProposalNotFoundError`, `NotCouncilMemberError`, `AlreadyApprovedError`,
    `ProposalExpiredError`, `ConflictError` (scheduled already), and chain errors.
    """
    council = require_council(ledger)
    row = _row(ledger, proposal_id)
    _require_member(council, member)
    view = status(ledger, proposal_id)
    if view.state == "expired":
        raise ProposalExpiredError(_expired_why(ledger, council, row))
    if view.state != "proposed":
        raise ConflictError(f"proposal #{row.id} is {view.state}; approvals are closed")
    safe_hash = bytes.fromhex(row.safe_hash[2:])
    if council.has_approved(member.address, safe_hash):
        raise AlreadyApprovedError(f"{member.address} approved proposal #{row.id} already")
    send_call(ledger, member, council.safe, council.approve_call(safe_hash), **_on_council(council))
    if len(view.approvals) + 1 >= view.threshold:
        _schedule(ledger, council, row, member)
    return status(ledger, proposal_id)


def _schedule(ledger: Ledger, council: CouncilClient, row: ProposalRow, sender: Signer) -> TxReceipt:
    _data, _salt, transaction = _parts(row, council)
    safe_hash = bytes.fromhex(row.safe_hash[2:])
    approvers = [member for member in council.members() if council.has_approved(member, safe_hash)]
    call = council.safe_transaction_call(transaction, approvers)
    receipt = send_call(ledger, sender, council.safe, call, **_on_council(council))
    ledger.proposals.mark(row.id, scheduled_tx=receipt.tx_hash)
    return receipt


def execute(ledger: Ledger, sender: Signer, proposal_id: int) -> ProposalView:
    """Carry out proposal `proposal_id`: schedule it if M approved and it is not yet, then run it once its delay passed.

    Anyone may execute. A call that schedules it returns it scheduled, with the time it can
    run. Raises `ProposalNotReadyError` (too few approvals, an earlier proposal first, or the
    delay not yet passed: with the time it can run), `ProposalExpiredError`, `ConflictError`
    (executed already), and chain errors.
    """
    _execute(ledger, sender, proposal_id)
    return status(ledger, proposal_id)


def _execute(ledger: Ledger, sender: Signer, proposal_id: int) -> TxReceipt | None:
    """The execution's receipt; None when this call only scheduled the proposal and its delay runs."""
    council = require_council(ledger)
    row = _row(ledger, proposal_id)
    view = status(ledger, proposal_id)
    if view.state == "executed":
        raise ConflictError(f"proposal #{row.id} was executed already")
    if view.state == "expired":
        raise ProposalExpiredError(_expired_why(ledger, council, row))
    if view.state == "proposed":
        if len(view.approvals) < view.threshold:
            raise ProposalNotReadyError(
                f"proposal #{row.id} has {len(view.approvals)} of the {view.threshold} approvals it needs"
            )
        _schedule(ledger, council, row, sender)
        view = status(ledger, proposal_id)
        if view.state == "scheduled":
            return None
    now = ledger.registry.chain_time()
    if view.executable_at is not None and now < view.executable_at:
        wait = view.executable_at - now
        raise ProposalNotReadyError(
            f"proposal #{row.id} can execute at {view.executable_at} (unix time), in {wait} s: the council's delay",
            retry_after=wait,
        )
    data, salt, _transaction = _parts(row, council)
    gas = council.execute_gas(row.target, data)  # not simulated: see `execute_gas`
    receipt = send_call(
        ledger, sender, council.timelock, council.execute_call(row.target, data, salt), gas=gas, decoder=council.decoder
    )
    ledger.proposals.mark(row.id, executed_tx=receipt.tx_hash)
    return receipt


def status(ledger: Ledger, proposal_id: int) -> ProposalView:
    """Where proposal `proposal_id` stands, read from the chain. Raises `ProposalNotFoundError`."""
    council = require_council(ledger)
    row = _row(ledger, proposal_id)
    data, salt, _transaction = _parts(row, council)
    operation = council.operation_time(council.operation_id(row.target, data, salt))
    members = set(council.members())  # an approval counts while its member still sits on the council
    approvals = {
        member: at
        for member, at in council.approval_times(bytes.fromhex(row.safe_hash[2:]), row.proposed_block).items()
        if member in members
    }
    executable_at: int | None = None
    if operation == DONE:
        state = "executed"
    elif operation > DONE:
        executable_at = operation
        state = "executable" if ledger.registry.chain_time() >= operation else "scheduled"
    elif council.safe_nonce() > row.safe_nonce or ledger.registry.chain_time() >= row.expires_at:
        state = "expired"
    else:
        state = "proposed"
    return ProposalView(
        id=row.id,
        action=row.action,
        words=row.words,
        arguments=_arguments(row),
        state=state,
        approvals=approvals,
        threshold=council.threshold(),
        executable_at=executable_at,
        expires_at=row.expires_at,
        safe_nonce=row.safe_nonce,
        safe_hash=row.safe_hash,
        scheduled_tx=row.scheduled_tx,
        executed_tx=row.executed_tx,
    )


def _arguments(row: ProposalRow) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row.arguments)
    return loaded


def _expired_why(ledger: Ledger, council: CouncilClient, row: ProposalRow) -> str:
    if council.safe_nonce() > row.safe_nonce:
        return (
            f"proposal #{row.id} expired: another proposal gathered its approvals first and took its place "
            "in the council's order (the Safe's nonce); propose it again"
        )
    return f"proposal #{row.id} expired at {row.expires_at} (unix time) without its approvals; propose it again"


def _held(ledger: Ledger, council: CouncilClient) -> list[Signer]:
    """The member keys this service holds, one per member. Production refuses to hold M of them, the
    operator's own key counted when it sits on the council: the service must never decide alone."""
    members = council.members()
    held = list({signer.address: signer for signer in ledger.council_signers if signer.address in members}.values())
    if not ledger.settings.development:
        seats = {signer.address for signer in held} | ({ledger.admin.address} & set(members))
        if len(seats) >= council.threshold():
            raise ConfigurationError(
                f"this service holds {len(seats)} council members' keys and the council needs {council.threshold()}: "
                "production never lets one service decide alone; give it fewer keys"
            )
    return held


def held_member(ledger: Ledger, proposal_id: int | None = None) -> Signer:
    """A member key this service holds: the first, or for `proposal_id` the first that has not approved it.

    Raises `NotCouncilMemberError` when the service holds none (left): members then sign
    with their own keys, through the CLI's `--key-file` or any Safe tool.
    """
    council = require_council(ledger)
    held = _held(ledger, council)
    if proposal_id is not None:
        safe_hash = bytes.fromhex(_row(ledger, proposal_id).safe_hash[2:])
        held = [signer for signer in held if not council.has_approved(signer.address, safe_hash)]
    if not held:
        raise NotCouncilMemberError(
            "this service holds no (further) council member's key; a member signs with their own key "
            "(`sijill council approve --key-file`)"
        )
    return held[0]


def list_proposals(ledger: Ledger, *, limit: int = 100) -> list[ProposalView]:
    """The latest proposals, newest first, each as it stands."""
    return [status(ledger, row.id) for row in ledger.proposals.list(limit=limit)]


def enact(ledger: Ledger, action: str, arguments: dict[str, Any]) -> TxReceipt:
    """Carry out a council action with the members' keys this service holds.

    Without a council (a plain key governs the registry) the key sends it. With one, the
    service proposes and approves with the keys it holds: when they reach M (development),
    it waits out the delay and executes, and returns the execution's receipt. Otherwise
    the proposal waits for the other members: raises `ProposalPendingError` with its number.
    """
    council = ledger.council
    if council is None:
        call = build_call(action, arguments, safe="", members=[])
        return send_call(ledger, ledger.admin, ledger.registry.address, call.data)
    held = _held(ledger, council)
    if not held:
        raise NotCouncilMemberError("this service holds no council member's key; a member must propose this")
    view = propose(ledger, held[0], action, arguments)
    for member in held[1:]:
        if view.state != "proposed":
            break
        view = approve(ledger, member, view.id)
    if view.state == "proposed":
        raise ProposalPendingError(
            f"council proposal #{view.id} ({view.words}) waits for {view.threshold - len(view.approvals)} more "
            "approval(s) by the council's members",
            proposal_id=view.id,
        )
    if view.executable_at is not None:  # the council's delay, waited out here (development: seconds)
        time.sleep(max(0.0, view.executable_at - ledger.registry.chain_time()))
    while True:
        try:
            receipt = _execute(ledger, held[0], view.id)
        except ProposalNotReadyError as error:
            time.sleep(min(1.0, float(error.retry_after or 1)))
            continue
        if receipt is not None:
            return receipt


def pause_registry(ledger: Ledger) -> TxReceipt:
    """Pause every change on the registry at once, as a guardian (this service's operator key).

    No council approval and no delay: stopping is fast, and only the council unpauses (`enact`).
    Raises the registry's error when the operator is no guardian or the registry is paused already.
    """
    return send_call(ledger, ledger.admin, ledger.registry.address, ledger.registry.pause_call())
