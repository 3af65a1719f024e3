"""The audit's check of the status lists: the bits the service publishes against the bits the
registry's events give, replayed by the audit itself from `eth_getLogs`.

A document's index in its agency's lists is the service's (its store gives each one once); which
bits are set is the chain's. Each list that differs is a 'difference' finding naming the entries.
"""

from __future__ import annotations

from collections import Counter

from ledger.audit.replay import Finding, LedgerState
from ledger.audit.status_lists import PURPOSES, list_bits
from ledger.usecases.context import Ledger
from ledger.usecases.status_lists import published_bits
from ledger.vc.status_list import MIN_ENTRIES

_SHOWN = 20  # entries named in a finding's evidence


def compare_status_lists(
    ledger: Ledger, state: LedgerState, to_block: int, checked: Counter[str] | None = None
) -> list[Finding]:
    """Every status list of every agency with credentials, as published at `to_block`, against the chain's
    events replayed up to it.

    What it compares is counted in `checked` (`status_lists`, `status_entries`). Returns the differences.
    """
    checked = Counter() if checked is None else checked
    findings: list[Finding] = []
    for agency in ledger.store.list_agencies():
        if not ledger.credentials.taken(agency.id):
            continue
        for number in range(ledger.credentials.lists(agency.id)):
            entries = ledger.credentials.of_agency(agency.id, number * MIN_ENTRIES, (number + 1) * MIN_ENTRIES)
            state.anchors.prefetch(root for _, root, _ in entries)
            state.documents.prefetch(target for target, _, _ in entries)
            checked["status_entries"] += len(entries)
            for purpose in PURPOSES:
                checked["status_lists"] += 1
                _version, published = published_bits(ledger, agency.id, purpose, number, at_block=to_block)
                rebuilt = list_bits(state, entries, purpose, number)
                if published.encode() == rebuilt.encode():
                    continue
                differ = sorted(set(published.set_indexes()) ^ set(rebuilt.set_indexes()))
                findings.append(
                    Finding(
                        "difference",
                        "status-list",
                        f"agency '{agency.id}''s {purpose} list {number} differs from the chain's events "
                        f"at {len(differ)} entries",
                        {
                            "agency": agency.id,
                            "purpose": purpose,
                            "list": number,
                            "entries": differ[:_SHOWN],
                            "published_set": [index for index in differ[:_SHOWN] if published.get(index)],
                        },
                    )
                )
            state.flush()
    return findings
