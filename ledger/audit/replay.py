"""Rebuilding the registry from its events alone, checking the contract's rules as it goes.

`LedgerState.apply` takes events in chain order and returns a `Finding` for every rule
an event breaks. The rules are the ones the contract promises: anchors come from a key
valid for its agency at that time; only the owning agency (or, for revocation, the
admin) changes a batch or document; revocation is final; suspension and reinstatement
come in a legal order; nothing changes while the registry is paused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from ledger.audit.accumulator import Accumulator
from ledger.audit.tables import AnchorRecord, DocumentStatusRecord, MemoryTable, Table
from ledger.chain.events import ChainEvent, collector_paused

ACTIVE, SUSPENDED, REVOKED = "ACTIVE", "SUSPENDED", "REVOKED"
ADMIN_ROLE = "00" * 32


@dataclass(frozen=True, slots=True)
class Finding:
    """A broken rule, or a difference between two sources, with its evidence."""

    kind: str  # "violation", "difference" or "rewrite"
    rule: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def evidence(event: ChainEvent) -> dict[str, Any]:
    """Where an event is: block, transaction, log index and name."""
    return {
        "block": event.block_number,
        "transaction": "0x" + event.tx_hash,
        "log_index": event.log_index,
        "event": event.name,
    }


@lru_cache(maxsize=4096)
def _day_month(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m")


def _month(timestamp: int) -> str:
    """The year and month of a unix time (cached by day: replays see many events a day)."""
    return _day_month(timestamp // 86400)


def agency_id(raw: str) -> str:
    """An agency id from its bytes32 hex."""
    return bytes.fromhex(raw).rstrip(b"\0").decode("ascii", errors="replace")


class KeyWindow(NamedTuple):
    """An issuer key's agency, and the times it may anchor in: from `valid_from`, before `valid_until`."""

    agency: str
    valid_from: int
    valid_until: int


@dataclass
class LedgerState:
    """Agencies, keys, anchors and documents as the events built them."""

    agencies: dict[str, str] = field(default_factory=dict)
    keys: dict[str, KeyWindow] = field(default_factory=dict)
    anchors: Table[AnchorRecord] = field(default_factory=MemoryTable[AnchorRecord])  # by root
    documents: Table[DocumentStatusRecord] = field(default_factory=MemoryTable[DocumentStatusRecord])  # by hash
    admins: set[str] = field(default_factory=set)
    paused: bool = False
    revocations: list[dict[str, Any]] = field(default_factory=list)
    key_changes: list[dict[str, Any]] = field(default_factory=list)
    months: Counter[str] = field(default_factory=Counter)
    totals: dict[str, Counter[str]] = field(default_factory=dict)
    types: dict[str, list[Any]] = field(default_factory=dict)  # type id -> [owner (None: shared), versions]
    _anchored_at: dict[str, ChainEvent] = field(default_factory=dict)

    def prefetch(self, events: Sequence[ChainEvent]) -> None:
        """Load the records a page of changes will touch (anchors are new: they are not read)."""
        changes = [event for event in events if "hash" in event.args and "root" in event.args]
        self.anchors.prefetch(event.args["root"] for event in changes)
        self.documents.prefetch(event.args["hash"] for event in changes)

    def flush(self, *, force: bool = False) -> list[Finding]:
        """Let the tables write back what pages changed (all of it when forced).

        A root anchored a second time, in a later page than the first, shows here.
        """
        findings = []
        for root in self.anchors.flush(force=force):
            event = self._anchored_at[root]
            findings.append(Finding("violation", "anchor-once", f"root {root} was anchored twice", evidence(event)))
            self._untally(event)
        self.documents.flush(force=force)
        if not self.anchors.held():
            self._anchored_at.clear()
        return findings

    def _tally(self, agency: str | None, counter: str, change: int = 1) -> None:
        counts = self.totals.get(agency or "?")
        if counts is None:
            counts = self.totals[agency or "?"] = Counter()
        counts[counter] += change

    def _untally(self, event: ChainEvent) -> None:
        """Take back the counts of an anchor the contract would have refused (found after the fact)."""
        window = self.keys.get(event.args["key"])
        counts = self.totals.get(window.agency if window else "?")
        if counts is not None:
            counts["anchors"] -= 1
            counts["documents"] -= event.args["documentCount"]
        self.months[_month(event.args["at"])] -= event.args["documentCount"]

    def _moved(self, agency: str | None, scope: str, old: str, new: str) -> None:
        if old in (SUSPENDED, REVOKED):
            self._tally(agency, f"{scope} {old.lower()}", -1)
        if new in (SUSPENDED, REVOKED):
            self._tally(agency, f"{scope} {new.lower()}")

    # --- the rules ----------------------------------------------------------------------

    def apply(self, event: ChainEvent) -> list[Finding]:
        """Apply one event; the findings are the rules it breaks."""
        handler = _HANDLERS.get(event.name)
        if handler is None:
            return []
        found: list[Finding] = handler(self, event, event.args)
        return found

    def _violation(self, event: ChainEvent, rule: str, message: str) -> list[Finding]:
        return [Finding("violation", rule, message, evidence(event))]

    def _on_RoleGranted(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        if args["role"] == ADMIN_ROLE:
            self.admins.add(args["account"])
        return []

    def _on_RoleRevoked(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        if args["role"] == ADMIN_ROLE:
            self.admins.discard(args["account"])
        return []

    def _on_Paused(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        self.paused = True
        return []

    def _on_Unpaused(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        self.paused = False
        return []

    def _on_AgencyRegistered(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        agency = agency_id(args["agencyId"])
        if agency in self.agencies:
            return self._violation(event, "agency-once", f"agency '{agency}' was registered twice")
        self.agencies[agency] = args["name"]
        return []

    def _on_DocumentTypeRegistered(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        type_id = agency_id(args["typeId"])
        owner = agency_id(args["agencyId"]) if int(args["agencyId"], 16) else None
        known = self.types.get(type_id)
        if owner is not None and owner not in self.agencies:
            return self._violation(event, "type-owner", f"type '{type_id}' was registered for unknown agency '{owner}'")
        if known is not None and known[0] != owner:
            whose = f"agency '{known[0]}'" if known[0] else "every agency (shared)"
            return self._violation(event, "type-owner", f"type '{type_id}' of {whose} was registered again by another")
        expected = (known[1] if known else 0) + 1
        if args["version"] != expected:
            return self._violation(
                event, "type-version", f"type '{type_id}' got version {args['version']}; the next was {expected}"
            )
        self.types[type_id] = [owner, expected]
        return []

    def _on_IssuerKeyAdded(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        agency, key = agency_id(args["agencyId"]), args["key"]
        self.key_changes.append(
            {
                "key": key,
                "agency": agency,
                "change": "added",
                "valid_from": args["validFrom"],
                "valid_until": args["validUntil"],
                **evidence(event),
            }
        )
        if agency not in self.agencies:
            return self._violation(event, "key-for-agency", f"key {key} was added for unknown agency '{agency}'")
        if key in self.keys:
            return self._violation(event, "key-once", f"key {key} was added twice")
        self.keys[key] = KeyWindow(agency, args["validFrom"], args["validUntil"])
        return []

    def _on_IssuerKeyValidUntilChanged(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        key = args["key"]
        self.key_changes.append(
            {
                "key": key,
                "agency": agency_id(args["agencyId"]),
                "change": "valid-until",
                "valid_until": args["validUntil"],
                **evidence(event),
            }
        )
        if key not in self.keys:
            return self._violation(event, "key-known", f"the window of unknown key {key} was changed")
        self.keys[key] = self.keys[key]._replace(valid_until=args["validUntil"])
        return []

    def _key_valid(self, key: str, agency: str | None, at: int) -> bool:
        window = self.keys.get(key)
        return window is not None and window.agency == agency and window.valid_from <= at < window.valid_until

    def _on_Anchored(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        # The path most events take: kept to a few dictionary operations.
        root, key, at, count = args["root"], args["key"], args["at"], args["documentCount"]
        found: list[Finding] = []
        if self.paused:
            found += self._violation(event, "paused", f"root {root} was anchored while the registry was paused")
        window = self.keys.get(key)
        agency = window.agency if window is not None else None
        if window is None or not window.valid_from <= at < window.valid_until:
            found += self._violation(event, "anchor-key", f"root {root} was anchored by {key}, not a key valid then")
        anchor = AnchorRecord(agency, key, at, event.block_number, count, args["expiresAt"], ACTIVE, 0)
        if not self.anchors.insert(root, anchor):
            found += self._violation(event, "anchor-once", f"root {root} was anchored twice")
            return found
        self._anchored_at[root] = event
        counts = self.totals.get(agency or "?")
        if counts is None:
            counts = self.totals[agency or "?"] = Counter()
        counts["anchors"] += 1
        counts["documents"] += count
        self.months[_month(at)] += count
        return found

    def _change(self, event: ChainEvent, args: Any, action: str) -> list[Finding]:
        target, root, by, at = args["hash"], args["root"], args["by"], args["at"]
        found: list[Finding] = []
        if self.paused and not (by in self.admins and action == REVOKED):  # the council revokes during a pause
            found += self._violation(event, "paused", f"{target} was changed while the registry was paused")
        anchor = self.anchors.get(root)
        if anchor is None:
            return [*found, *self._violation(event, "change-anchored", f"{target} changed in unknown batch {root}")]
        owner = anchor.agency
        is_admin = by in self.admins
        if not self._key_valid(by, owner, at) and not (is_admin and action == REVOKED):
            found += self._violation(
                event, "change-owner", f"{target} was changed by {by}, neither a valid key of '{owner}' nor allowed"
            )
        reason = args.get("reason", 0)
        if target == root:
            status = anchor.status
            legal = {REVOKED: status != REVOKED, SUSPENDED: status == ACTIVE, ACTIVE: status == SUSPENDED}[action]
            if not legal:  # the contract would have refused it: the replayed state keeps the legal one
                return [*found, *self._violation(event, "change-order", f"batch {root} went from {status} to {action}")]
            self._moved(owner, "batches", status, action)
            self.anchors[root] = anchor._replace(status=action, reason=reason if action != ACTIVE else 0)
        else:
            if anchor.status == REVOKED:
                return [
                    *found,
                    *self._violation(event, "change-order", f"{target} changed inside revoked batch {root}"),
                ]
            record = self.documents.get(target)
            status = ACTIVE
            if record is not None and (record.agency == owner or anchor.anchored_at >= record.claimed_at):
                status = record.status if record.agency == owner else status
                if record.agency != owner:
                    found += self._violation(
                        event, "document-owner", f"{target} belongs to '{record.agency}', whose batch came first"
                    )
            legal = {REVOKED: status != REVOKED, SUSPENDED: status == ACTIVE, ACTIVE: status == SUSPENDED}[action]
            if not legal:
                return [
                    *found,
                    *self._violation(event, "change-order", f"document {target} went from {status} to {action}"),
                ]
            claimed = anchor.anchored_at
            if record is not None and record.agency == owner:
                claimed = min(record.claimed_at, claimed)
            self._moved(owner, "documents", status, action)
            self.documents[target] = DocumentStatusRecord(
                owner, action, reason if action != ACTIVE else 0, claimed, root
            )
        if action == REVOKED:
            self.revocations.append(
                {
                    "hash": target,
                    "root": root,
                    "agency": owner,
                    "by": by,
                    "reason": reason,
                    "scope": "batch" if target == root else "document",
                    **evidence(event),
                }
            )
        return found

    def _on_Revoked(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        return self._change(event, args, REVOKED)

    def _on_Suspended(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        return self._change(event, args, SUSPENDED)

    def _on_Reinstated(self, event: ChainEvent, args: Any) -> list[Finding]:  # noqa: N802
        return self._change(event, args, ACTIVE)

    # --- saving -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Everything but the anchor and document tables, JSON-ready, to continue an audit later."""
        return {
            "agencies": self.agencies,
            "keys": {key: list(window) for key, window in self.keys.items()},
            "admins": sorted(self.admins),
            "paused": self.paused,
            "revocations": self.revocations,
            "key_changes": self.key_changes,
            "months": dict(self.months),
            "totals": {agency: dict(counts) for agency, counts in self.totals.items()},
            "types": self.types,
        }

    @classmethod
    def from_json(
        cls,
        data: dict[str, Any],
        *,
        anchors: Table[AnchorRecord] | None = None,
        documents: Table[DocumentStatusRecord] | None = None,
    ) -> LedgerState:
        """The state saved by `to_json`, with its anchor and document tables."""
        return cls(
            agencies=data["agencies"],
            keys={key: KeyWindow(*window) for key, window in data["keys"].items()},
            anchors=anchors if anchors is not None else MemoryTable[AnchorRecord](),
            documents=documents if documents is not None else MemoryTable[DocumentStatusRecord](),
            admins=set(data["admins"]),
            paused=data["paused"],
            revocations=data["revocations"],
            key_changes=data["key_changes"],
            months=Counter(data["months"]),
            totals={agency: Counter(counts) for agency, counts in data["totals"].items()},
            types=data.get("types", {}),  # an audit saved before types were registered has none
        )


_HANDLERS = {
    name.removeprefix("_on_"): handler for name, handler in vars(LedgerState).items() if name.startswith("_on_")
}


@dataclass
class PageReplay:
    """What one page of events did: the findings, and each block's hash and event count after it."""

    findings: list[Finding]
    blocks: dict[int, tuple[str, int]]
    root_at_mark: bytes | None = None


def replay_page(
    state: LedgerState, accumulator: Accumulator, events: Sequence[ChainEvent], *, mark: int | None = None
) -> PageReplay:
    """Apply a page of events in chain order, each to the state and to the accumulator.

    `mark` is an event count whose prefix root the caller wants (a checkpoint's count, to
    check an older history against it); the root is taken when the count is reached.
    """
    findings: list[Finding] = []
    blocks: dict[int, tuple[str, int]] = {}
    root_at_mark = None
    apply, add = state.apply, accumulator.add
    with collector_paused():
        state.prefetch(events)
        for event in events:
            found = apply(event)
            if found:
                findings += found
            add(event.leaf)
            blocks[event.block_number] = (event.block_hash, accumulator.count)
            if accumulator.count == mark:
                root_at_mark = accumulator.root()
        findings += state.flush()
    return PageReplay(findings, blocks, root_at_mark)
