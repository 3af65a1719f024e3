"""The council's part of the audit: every governance change came through M approvals and the delay.

Read from three contracts' logs, independently of the service's store:
- every governance event of the registry (an admission, a freeze, an admin named, an emergency
  revocation, an unpause, a role granted or revoked) sits in a transaction where the council's
  timelock executed an operation (`CallExecuted`), except the roles the constructor granted;
- every executed operation was scheduled (`CallScheduled`) with at least the timelock's delay of
  the time, and executed no earlier than that delay after it was scheduled;
- every schedule came from a Safe transaction (`ExecutionSuccess`) carrying at least the Safe's
  threshold of the time in signatures;
- every change of the council's members, threshold, modules, guard or fallback handler went
  through the timelock (the Safe's module), so it waited out the delay too; enabling the
  timelock itself as the module is the one change that puts the others behind the delay.

The council's events are hashed like the registry's into a second accumulator, whose root the
signed checkpoint carries: a later audit or `sijill audit verify` finds any rewrite of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger.audit.accumulator import Accumulator
from ledger.audit.checkpoint import Checkpoint
from ledger.audit.replay import Finding, evidence
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.events import ChainEvent, EventReader
from ledger.usecases.context import Ledger

REGISTRY_GOVERNANCE = (
    "AgencyRegistered",
    "AgencyAdminChanged",
    "AgencyStatusChanged",
    "EmergencyRevoked",
    "Unpaused",
    "RoleGranted",
    "RoleRevoked",
    "DefaultAdminTransferScheduled",
    "DefaultAdminDelayChangeScheduled",
)
TIMELOCK_EVENTS = ("CallScheduled", "CallExecuted", "MinDelayChange")
COUNCIL_CHANGES = (
    "AddedOwner",
    "RemovedOwner",
    "ChangedThreshold",
    "EnabledModule",
    "DisabledModule",
    "ChangedGuard",
    "ChangedFallbackHandler",
)
SAFE_EVENTS = (
    "SafeSetup",
    "SafeMultiSigTransaction",
    "ExecutionSuccess",
    "ExecutionFromModuleSuccess",
    *COUNCIL_CHANGES,
)
SIGNATURE_BYTES = 65


def _events(reader: EventReader, names: tuple[str, ...], start: int, end: int, page: int = 2000) -> list[ChainEvent]:
    found: list[ChainEvent] = []
    for first in range(start, end + 1, page):
        found += [reader.decode(log) for log in reader.raw_logs(first, min(end, first + page - 1), names)]
    return found


def _by_tx(events: Iterable[ChainEvent]) -> dict[str, list[ChainEvent]]:
    grouped: dict[str, list[ChainEvent]] = defaultdict(list)
    for event in events:
        grouped[event.tx_hash].append(event)
    return grouped


def _violation(event: ChainEvent, rule: str, message: str) -> Finding:
    return Finding("violation", rule, message, evidence(event))


@dataclass(frozen=True, slots=True)
class GovernanceAudit:
    """The council's findings, what was checked, and the council's events the checkpoint signs."""

    findings: list[Finding]
    checked: Counter[str]
    event_count: int = 0
    events_root: str = ""  # "" without a council


def council_events(ledger: Ledger, to_block: int) -> tuple[list[ChainEvent], list[ChainEvent]]:
    """The council's timelock events and Safe events up to `to_block` (empty without a council)."""
    council, deployment, registry = ledger.council, ledger.deployment, ledger.registry
    if council is None:
        return [], []
    safe_abi = ContractArtifact.load(ledger.settings.artifacts_dir, name="SafeL2").abi
    timelock_abi = ContractArtifact.load(ledger.settings.artifacts_dir, name="CouncilTimelock").abi
    council_start = deployment.council_block or deployment.block_number  # its first delay precedes the registry
    timelock = _events(registry.events_of(council.timelock, timelock_abi), TIMELOCK_EVENTS, council_start, to_block)
    safe = _events(registry.events_of(council.safe, safe_abi), SAFE_EVENTS, council_start, to_block)
    return timelock, safe


def council_history(events: Iterable[ChainEvent], up_to: int) -> tuple[int, str]:
    """How many of the council's events came up to block `up_to`, and the root of their accumulator
    (in the chain's order), as a checkpoint signs them beside the registry's."""
    accumulator = Accumulator()
    for event in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        if event.block_number > up_to:
            break
        accumulator.add(event.leaf)
    return accumulator.count, accumulator.root().hex()


def audit_governance(ledger: Ledger, to_block: int, previous: Checkpoint | None = None) -> GovernanceAudit:
    """The findings of the council's rules from the deployment block to `to_block`, what was checked,
    and the council's events for the checkpoint. A `previous` checkpoint's council events must still
    hash to its root (else a 'rewrite' finding).

    A deployment without a council (its registry governed by one key) has nothing to check here.
    """
    council, checked = ledger.council, Counter[str]()
    if council is None:
        return GovernanceAudit([], checked)
    deployment, registry = ledger.deployment, ledger.registry
    governance = _events(registry.events(ledger.artifact.abi), REGISTRY_GOVERNANCE, deployment.block_number, to_block)
    timelock, safe = council_events(ledger, to_block)
    timelock_txs, safe_txs = _by_tx(timelock), _by_tx(safe)
    findings: list[Finding] = []
    deploy_tx = deployment.tx_hash.removeprefix("0x").lower()
    for event in governance:
        checked["governance events"] += 1
        if event.tx_hash == deploy_tx:
            continue  # the constructor's grants: the council's role and the first guardians
        if event.name == "RoleRevoked" and str(event.args["account"]).lower() == str(event.args["sender"]).lower():
            continue  # a holder renouncing its own role needs no one's approval
        if not any(e.name == "CallExecuted" for e in timelock_txs.get(event.tx_hash, [])):
            findings.append(_violation(event, "council", f"{event.name} did not come through the council's timelock"))
    findings += _timelock_rules(registry, timelock, safe_txs, checked)
    findings += _council_changes(safe, council.timelock.lower(), checked)
    if previous is not None and previous.council_events_root:
        findings += council_rewrite(previous, [*timelock, *safe])
    count, root = council_history([*timelock, *safe], to_block)
    checked["council events"] += count
    return GovernanceAudit(findings, checked, count, root)


def council_rewrite(checkpoint: Checkpoint, events: Iterable[ChainEvent]) -> list[Finding]:
    """A 'rewrite' finding when the council's events up to `checkpoint`'s block no longer hash to its root."""
    count, root = council_history(events, checkpoint.block_number)
    if (count, root) == (checkpoint.council_event_count, checkpoint.council_events_root):
        return []
    return [
        Finding(
            "rewrite",
            "council-history",
            f"the council's {count} events up to block {checkpoint.block_number} hash to {root}, the checkpoint "
            f"says {checkpoint.council_event_count} events with root {checkpoint.council_events_root}",
            {"block": checkpoint.block_number, "checkpoint_root": checkpoint.council_events_root},
        )
    ]


def _timelock_rules(
    registry: Any, timelock: list[ChainEvent], safe_txs: dict[str, list[ChainEvent]], checked: Counter[str]
) -> list[Finding]:
    findings: list[Finding] = []
    scheduled: dict[tuple[str, int], tuple[ChainEvent, int]] = {}
    min_delay = None
    threshold = _threshold_history(safe_txs)
    times: dict[int, int] = {}

    def time_of(block: int) -> int:
        if block not in times:
            times[block] = registry.block_time(block)
        return times[block]

    for event in sorted(timelock, key=lambda e: (e.block_number, e.log_index)):
        args = event.args
        if event.name == "MinDelayChange":
            min_delay = int(args["newDuration"])
            continue
        key = (str(args["id"]), int(args["index"]))
        if event.name == "CallScheduled":
            checked["council schedules"] += 1
            delay = int(args["delay"])
            if min_delay is not None and delay < min_delay:
                findings.append(_violation(event, "council-delay", f"scheduled with {delay} s, under {min_delay} s"))
            runs = [e for e in safe_txs.get(event.tx_hash, []) if e.name == "SafeMultiSigTransaction"]
            needed = threshold(event.block_number)
            if not runs:
                findings.append(_violation(event, "council-approvals", "scheduled by no transaction of the Safe"))
            elif len(_bytes(runs[0].args["signatures"])) // SIGNATURE_BYTES < needed:
                findings.append(_violation(event, "council-approvals", f"scheduled with fewer than {needed} approvals"))
            scheduled[key] = (event, delay)
        elif event.name == "CallExecuted":
            checked["council executions"] += 1
            earlier = scheduled.get(key)
            if earlier is None:
                findings.append(_violation(event, "council-delay", "executed an operation never scheduled"))
                continue
            waited = time_of(event.block_number) - time_of(earlier[0].block_number)
            if waited < earlier[1]:
                findings.append(
                    _violation(event, "council-delay", f"executed {waited} s after its schedule, before {earlier[1]} s")
                )
    return findings


def _bytes(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray) else bytes.fromhex(str(value).removeprefix("0x"))


def _threshold_history(safe_txs: dict[str, list[ChainEvent]]) -> Any:
    changes = sorted(
        (e.block_number, e.log_index, int(e.args["threshold"]))
        for events in safe_txs.values()
        for e in events
        if e.name in ("SafeSetup", "ChangedThreshold")
    )

    def at(block: int) -> int:
        value = 1
        for number, _index, threshold in changes:
            if number <= block:
                value = threshold
        return value

    return at


def _council_changes(safe: list[ChainEvent], timelock: str, checked: Counter[str]) -> list[Finding]:
    findings: list[Finding] = []
    by_tx = _by_tx(safe)
    for event in safe:
        if event.name not in COUNCIL_CHANGES:
            continue
        checked["council changes"] += 1
        same = by_tx[event.tx_hash]
        if any(e.name == "SafeSetup" for e in same):
            continue  # the Safe's setup
        if event.name == "EnabledModule" and str(event.args["module"]).lower() == timelock:
            continue  # enabling the timelock as the Safe's module puts council changes behind the delay
        if not any(e.name == "ExecutionFromModuleSuccess" and str(e.args["module"]).lower() == timelock for e in same):
            findings.append(
                _violation(event, "council-change", f"{event.name}: the council changed without the timelock's delay")
            )
    return findings
