"""The audit's third step: the replayed state, held against what the contract answers.

Every record the replay built is read back from the contract at the audited block, through
the status view (`inspect`) and through OpenAttestation's `isIssued` and `isRevoked`; each
answer that differs from the replayed record is a 'difference' finding.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger.audit.replay import REVOKED, SUSPENDED, Finding, LedgerState
from ledger.audit.tables import DocumentStatusRecord
from ledger.chain.events import EventReader
from ledger.usecases.context import Ledger


def compare_with_contract(
    ledger: Ledger, reader: EventReader, state: LedgerState, block: int, checked: Counter[str] | None = None
) -> list[Finding]:
    """Every anchor and document record the replay built, against the contract at `block`.

    Each record is read with `inspect` (the status view), and its hash with OpenAttestation's
    `isIssued` and `isRevoked`, whose answers follow from the replayed records too. Each read
    made is counted in `checked["contract_reads"]`. Returns the differences found.
    """
    checked = Counter() if checked is None else checked
    registry = ledger.registry
    findings: list[Finding] = []
    for chunk in state.anchors.chunks(2000):
        state.documents.prefetch(root for root, _ in chunk)
        calls = [[registry.inspect_call(root, root), *registry.open_attestation_calls(root)] for root, _ in chunk]
        results = reader.calls([call for triple in calls for call in triple], block)
        checked["contract_reads"] += len(results)
        for position, (root, anchor) in enumerate(chunk):
            raw, issued, revoked = results[3 * position : 3 * position + 3]
            view = registry.decode_inspect(raw)
            replayed = (
                anchor.agency,
                anchor.issuer_key,
                anchor.anchored_at,
                anchor.document_count,
                anchor.expires_at,
                anchor.status,
                anchor.reason,
            )
            chain = (
                view.agency_id,
                (view.key or "").lower(),
                view.anchored_at,
                view.document_count,
                view.expires_at,
                view.batch_status.name,
                view.batch_reason,
            )
            _differ(findings, root, root, replayed, chain)
            expected = (True, _withheld(anchor.status) or _withheld(_status(state.documents.get(root))))
            _differ(findings, root, root, expected, (_true(issued), _true(revoked)), "isIssued/isRevoked")
        state.documents.flush()
    for documents in state.documents.chunks(2000):
        state.anchors.prefetch(target for target, _ in documents)
        calls = [
            [registry.inspect_call(target, record.root), *registry.open_attestation_calls(target)]
            for target, record in documents
        ]
        results = reader.calls([call for triple in calls for call in triple], block)
        checked["contract_reads"] += len(results)
        for position, (target, record) in enumerate(documents):
            raw, issued, revoked = results[3 * position : 3 * position + 3]
            view = registry.decode_inspect(raw)
            document_chain = (view.document_agency_id, view.document_status.name, view.document_reason)
            _differ(findings, target, record.root, (record.agency, record.status, record.reason), document_chain)
            batch = state.anchors.get(target)
            expected = (batch is not None, _withheld(record.status) or (batch is not None and _withheld(batch.status)))
            _differ(findings, target, record.root, expected, (_true(issued), _true(revoked)), "isIssued/isRevoked")
        state.anchors.flush()
    return findings


def _status(record: DocumentStatusRecord | None) -> str | None:
    return record.status if record is not None else None


def _withheld(status: str | None) -> bool:
    """Whether OpenAttestation's `isRevoked` is true for a record in this status (suspended counts)."""
    return status in (REVOKED, SUSPENDED)


def _true(result: bytes) -> bool:
    return int.from_bytes(result, "big") != 0


def _differ(
    findings: list[Finding],
    target: str,
    root: str,
    replayed: tuple[Any, ...],
    chain: tuple[Any, ...],
    read: str = "inspect",
) -> None:
    if chain != replayed:
        findings.append(
            Finding(
                "difference",
                "contract-state",
                f"{target}: the replayed events give {replayed}, the contract's {read} returns {chain}",
                {"hash": target, "root": root, "read": read, "replayed": list(replayed), "contract": list(chain)},
            )
        )
