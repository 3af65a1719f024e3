"""Verifying a wrapped document against the chain alone (the store is not consulted)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.chain.quorum import PinnedBlock
from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import WrappedDocument
from ledger.domain import ChainEvidence, normalize_hash
from ledger.errors import LedgerNodesDisagreeError
from ledger.usecases.context import Ledger
from ledger.verification import VerificationResult, claims_of, evaluate, evaluate_anchor, type_claim


def chain_evidence(
    ledger: Ledger,
    target_hash: str,
    root: str,
    *,
    pinned: PinnedBlock | None = None,
    document_type: tuple[str, int] | None = None,
) -> ChainEvidence:
    """What the chain says of a document of batch `root` (and, when it claims one, of the `document_type`
    version it was issued under): read from one node, or (quorum or proof mode) from a quorum of endpoints
    or against the state root, at the `pinned` block when given.

    Raises `ChainUnavailableError`, `NodeAnswerError` and `LedgerNodesDisagreeError`.
    """
    registry, quorum = ledger.registry, ledger.quorum
    read = None
    if quorum is None:
        read_at, view = registry.inspect_latest(target_hash, root)
    else:  # no single node decides: a quorum of endpoints, proofs against the state root, or both
        read = quorum.inspect(target_hash, root, pinned=pinned)
        read_at, view = read.block_number, read.view
    view = registry.with_own_revocation(target_hash, view)
    tx = registry.anchor_transaction(root, view.anchored_block) if view.anchored_block else None
    name = None
    if view.agency_id is not None:  # who issued it, as the network says: the same nodes, the same proofs
        name = quorum.agency_name(view.agency_id, read) if quorum and read else registry.agency_name(view.agency_id)
    registration = None
    if document_type is not None and view.anchored_block:  # the same nodes, the same proofs
        type_id, version = document_type
        registration = (
            quorum.document_type(type_id, version, read)
            if quorum and read
            else registry.document_type(type_id, version)
        )
    return ChainEvidence(
        view=view,
        agency_name=name,
        anchor_tx=tx,
        read_at_block=read_at,
        read=read.evidence() if read else None,
        type_registration=registration,
    )


def verify_document(ledger: Ledger, document: Any, *, pinned: PinnedBlock | None = None) -> VerificationResult:
    """Verify a wrapped document (parsed JSON), at the block of a signed checkpoint when `pinned`
    (with the settings' quorum or proof mode).

    Raises `InvalidDocumentError` when it is not a wrapped document at all;
    `ChainUnavailableError` when the chain cannot be reached or does not answer in time;
    `NodeAnswerError` when the node answers, but not usably (a refused read, a malformed
    event); `LedgerNodesDisagreeError` when, in quorum or proof mode, the endpoints do not
    agree or none gives an answer its proof bears out; `ConfigurationError` when the
    installation has no registry to read. Every other problem is a verdict in the result
    (TAMPERED, NOT_ISSUED, ...).
    """
    wrapped = WrappedDocument.parse(document)
    sijill = wrapped.data.get("sijill")
    claimed_type = type_claim(claims_of({"sijill": unsalt_data(sijill)})) if isinstance(sijill, dict) else None

    def fetch() -> ChainEvidence:
        return chain_evidence(
            ledger, wrapped.target_hash, wrapped.merkle_root, pinned=pinned, document_type=claimed_type
        )

    try:
        result = evaluate(wrapped, network=ledger.network, fetch_evidence=fetch, now=ledger.clock())
    except LedgerNodesDisagreeError:
        ledger.metrics.nodes_disagreed()
        raise
    ledger.metrics.verdict(result.status.value)
    return result


def verify_anchor(
    ledger: Ledger, target_hash: str, merkle_root: str, proof: Sequence[str], claims: Mapping[str, Any]
) -> VerificationResult:
    """Verify a document by its target hash, proof, root and issuer claims alone (`evaluate_anchor`): the
    service never sees its fields. Raises as `verify_document` does, and `InvalidRequestError` for a
    malformed hash."""
    target, root = normalize_hash(target_hash, "target_hash"), normalize_hash(merkle_root, "merkle_root")
    siblings = [normalize_hash(sibling, "proof") for sibling in proof]

    def fetch() -> ChainEvidence:
        return chain_evidence(ledger, target, root, document_type=type_claim(claims))

    try:
        result = evaluate_anchor(
            target_hash=target,
            merkle_root=root,
            proof=siblings,
            claims=claims,
            network=ledger.network,
            fetch_evidence=fetch,
            now=ledger.clock(),
        )
    except LedgerNodesDisagreeError:
        ledger.metrics.nodes_disagreed()
        raise
    ledger.metrics.verdict(result.status.value)
    return result
