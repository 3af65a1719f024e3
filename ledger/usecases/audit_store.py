"""The audit's fourth step: the service's store, reconciled with the replayed chain.

The store's batches and documents are held against the replayed anchors and document records,
and every replayed anchor against the store's roots; each disagreement is a 'difference' finding.
"""

from __future__ import annotations

from collections import Counter

from ledger.audit.replay import ACTIVE, Finding, LedgerState
from ledger.domain import ON_CHAIN
from ledger.usecases.context import Ledger


def reconcile_with_store(ledger: Ledger, state: LedgerState, checked: Counter[str] | None = None) -> list[Finding]:
    """Every batch and document the store knows, against the replayed chain; and every anchor against the store.

    What it compares is counted in `checked` (`store_batches`, `store_documents`, `chain_anchors`).
    Returns the differences found.
    """
    checked = Counter() if checked is None else checked
    findings: list[Finding] = []
    for batches in ledger.store.batch_summaries():
        checked["store_batches"] += len(batches)
        state.anchors.prefetch(root for root, *_ in batches)
        for root, agency, issuance, count, status, tx_hash in batches:
            anchor = state.anchors.get(root)
            if issuance not in ON_CHAIN:
                if anchor is not None:
                    findings.append(
                        Finding(
                            "difference",
                            "store-anchor",
                            f"batch {root} is {issuance} in the store but anchored on chain",
                            {"root": root, "store_state": issuance},
                        )
                    )
                continue
            if anchor is None:
                findings.append(
                    Finding(
                        "difference",
                        "store-anchor",
                        f"the store says batch {root} was anchored, the chain never anchored it",
                        {"root": root, "transaction": tx_hash},
                    )
                )
            elif (anchor.agency, anchor.document_count, anchor.status) != (agency, count, status):
                findings.append(
                    Finding(
                        "difference",
                        "store-batch",
                        f"batch {root}: store has agency '{agency}', {count} documents, {status}; "
                        f"the chain has '{anchor.agency}', {anchor.document_count}, {anchor.status}",
                        {"root": root},
                    )
                )
        state.flush()
    for rows in ledger.store.document_summaries():
        checked["store_documents"] += len(rows)
        state.anchors.prefetch(root for _, root, _, _ in rows)
        state.documents.prefetch(target for target, _, _, _ in rows)
        for target, root, _type, status in rows:
            anchor = state.anchors.get(root)
            if anchor is None or target == root:
                continue
            record = state.documents.get(target)
            chain_status = record.status if record is not None and record.agency == anchor.agency else ACTIVE
            if chain_status != status:
                findings.append(
                    Finding(
                        "difference",
                        "store-document",
                        f"document {target}: the store says {status}, the chain says {chain_status}",
                        {"hash": target, "root": root, "store": status, "chain": chain_status},
                    )
                )
        state.flush()
    for chunk in state.anchors.chunks(5000):
        known = ledger.store.known_roots([root for root, _ in chunk])
        checked["chain_anchors"] += len(chunk)
        for root, anchor in chunk:
            if root not in known:
                findings.append(
                    Finding(
                        "difference",
                        "chain-anchor",
                        f"root {root} anchored on chain by '{anchor.agency}' is unknown to the store",
                        {"root": root, "block": anchor.block},
                    )
                )
    return findings
