"""Verifying a wrapped document against the chain alone (the store is not consulted)."""

from __future__ import annotations

from typing import Any

from ledger.documents.wrap import WrappedDocument
from ledger.domain import ChainEvidence
from ledger.usecases.context import Ledger
from ledger.verification import VerificationResult, evaluate


def verify_document(ledger: Ledger, document: Any) -> VerificationResult:
    """Verify a wrapped document (parsed JSON).

    Raises `InvalidDocumentError` when it is not a wrapped document at all;
    `ChainUnavailableError` when the chain cannot be reached or does not answer in time;
    `NodeAnswerError` when the node answers, but not usably (a refused read, a malformed
    event); `ConfigurationError` when the installation has no registry to read. Every other
    problem is a verdict in the result (TAMPERED, NOT_ISSUED, ...).
    """
    wrapped = WrappedDocument.parse(document)

    def fetch() -> ChainEvidence:
        registry = ledger.registry
        read_at, view = registry.inspect_latest(wrapped.target_hash, wrapped.merkle_root)
        view = registry.with_own_revocation(wrapped.target_hash, view)
        tx = registry.anchor_transaction(wrapped.merkle_root, view.anchored_block) if view.anchored_block else None
        name = registry.agency_name(view.agency_id) if view.agency_id else None
        return ChainEvidence(view=view, agency_name=name, anchor_tx=tx, read_at_block=read_at)

    return evaluate(wrapped, network=ledger.network, fetch_evidence=fetch, now=ledger.clock())
