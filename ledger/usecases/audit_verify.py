"""A checkpoint verified against the chain: its signature, and the events up to its block replayed."""

from __future__ import annotations

from ledger.audit.accumulator import Accumulator
from ledger.audit.checkpoint import Checkpoint, signature_valid
from ledger.audit.replay import Finding
from ledger.chain.events import LEAF_ENCODING
from ledger.errors import InvalidRequestError
from ledger.usecases.audit_governance import council_events, council_rewrite
from ledger.usecases.context import Ledger


def verify_checkpoint(ledger: Ledger, checkpoint: Checkpoint, *, expected_auditor: str | None = None) -> list[Finding]:
    """Check a checkpoint's signature, and replay the chain up to it: same block hash, count and root,
    for the registry's events and (when it has their root) the council's.

    Returns the problems found; an empty list means the checkpoint holds. Raises
    `InvalidRequestError` if the checkpoint hashes events otherwise than this auditor, or is for
    another chain or registry.
    """
    problems: list[Finding] = []
    if checkpoint.leaf_encoding != LEAF_ENCODING:
        raise InvalidRequestError(
            f"the checkpoint hashes events as '{checkpoint.leaf_encoding}', this auditor as '{LEAF_ENCODING}'; "
            "run `sijill audit run` to sign a checkpoint of the current encoding"
        )
    if not signature_valid(checkpoint, expected_auditor):
        problems.append(Finding("violation", "signature", "the checkpoint's signature is not its auditor's"))
    if checkpoint.chain_id != ledger.network.chain_id or checkpoint.registry.lower() != ledger.network.registry.lower():
        raise InvalidRequestError("the checkpoint is for another chain or registry")
    reader = ledger.registry.events(ledger.artifact.abi)
    now = reader.block_hashes([checkpoint.block_number])[checkpoint.block_number]
    if now != checkpoint.block_hash:
        problems.append(
            Finding(
                "rewrite",
                "history",
                f"block {checkpoint.block_number} now has hash {now}",
                {"block": checkpoint.block_number, "checkpoint_hash": checkpoint.block_hash},
            )
        )
    accumulator = Accumulator()
    for _last, events in reader.pages(ledger.deployment.block_number, checkpoint.block_number):
        for event in events:
            accumulator.add(event.leaf)
    if (accumulator.count, accumulator.root().hex()) != (checkpoint.event_count, checkpoint.events_root):
        problems.append(
            Finding(
                "rewrite",
                "history",
                f"the chain's {accumulator.count} events up to block {checkpoint.block_number} hash to "
                f"{accumulator.root().hex()}, the checkpoint says {checkpoint.event_count} events with root "
                f"{checkpoint.events_root}",
            )
        )
    if checkpoint.council_events_root:
        timelock, safe = council_events(ledger, checkpoint.block_number)
        problems += council_rewrite(checkpoint, [*timelock, *safe])
    return problems
