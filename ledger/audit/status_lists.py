"""Status-list bits as the registry's events decide them (pure).

A document's revocation bit is set when it, or its whole batch, was revoked: revocation is final,
so the bit never clears. Its suspension bit is set while it, or its batch, is suspended and it is
not revoked, and clears when it is reinstated (or revoked: a revoked document is listed as revoked
only, as its verdict is REVOKED). The service publishes these bits; an auditor rebuilds them from
`eth_getLogs` alone (with the replay of `ledger.audit.replay`) and compares.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.audit.replay import REVOKED, SUSPENDED, LedgerState
from ledger.chain.events import EventReader
from ledger.vc.status_list import MIN_ENTRIES, StatusBits

PURPOSES = ("revocation", "suspension")


def status_flags(state: LedgerState, target_hash: str, root: str) -> tuple[bool, bool]:
    """(revoked, suspended) of a document of batch `root`, as the replayed events left them."""
    anchor = state.anchors.get(root)
    if anchor is None:
        return False, False
    record = state.documents.get(target_hash)
    own = record.status if record is not None and record.agency == anchor.agency else None
    revoked = REVOKED in (anchor.status, own)
    return revoked, not revoked and SUSPENDED in (anchor.status, own)


def list_bits(state: LedgerState, entries: Iterable[tuple[str, str, int]], purpose: str, number: int) -> StatusBits:
    """The bits of status list `number` for `purpose`, given each document's (target hash, root, index)."""
    if purpose not in PURPOSES:
        raise ValueError(f"no status purpose {purpose!r}")
    bits = StatusBits(MIN_ENTRIES)
    lowest = number * MIN_ENTRIES
    for target_hash, root, index in entries:
        if lowest <= index < lowest + MIN_ENTRIES:
            revoked, suspended = status_flags(state, target_hash, root)
            if revoked if purpose == "revocation" else suspended:
                bits.set(index - lowest)
    return bits


@dataclass
class StatusReplay:
    """The registry's statuses as its events built them, up to block `next_block` - 1 (one per process),
    and the status lists signed from them, each with the (block, entries, signing key) it was signed at."""

    state: LedgerState = field(default_factory=LedgerState)
    next_block: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    signed: dict[tuple[str, str, int], tuple[tuple[int, int, str], dict[str, Any]]] = field(default_factory=dict)

    def refresh(self, reader: EventReader, first_block: int, up_to: int) -> int:
        """Apply the events from the last block applied (or `first_block`) up to block `up_to`; returns
        the last block applied. The caller holds `lock`."""
        start = first_block if self.next_block is None else self.next_block
        if start <= up_to:
            for _last, events in reader.pages(start, up_to):
                for event in events:
                    self.state.apply(event)  # a broken rule is the audit's to report; the state keeps the legal
            self.next_block = up_to + 1
        return start - 1 if start > up_to else up_to
