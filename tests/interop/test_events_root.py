"""A second auditor with another tool recomputes the checkpoint's events root from `eth_getLogs` alone.

`events_root.js` is written from the README's leaf encoding and Certificate Transparency's tree
(RFC 6962), with Node's built-ins only, and asks the chain for the logs itself: nothing of
Sijill's Python (no decoder, no accumulator, no logs handed over) reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.deployment import DeploymentRecord
from ledger.usecases.audit import run_audit
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from tests.integration.conftest import licence, make_settings
from tests.integration.test_audit import populate
from tests.interop.node import run_node
from tests.nodes import ChainNode

SCRIPT = Path(__file__).with_name("events_root.js")


def recompute(rpc_url: str, registry: str, from_block: int, to_block: int) -> dict[str, Any]:
    """What the Node auditor computes over the registry's logs in [from_block, to_block]."""
    return run_node(SCRIPT, rpc_url, registry, str(from_block), str(to_block), timeout=30)


def latest_checkpoint(folder: Path) -> dict[str, Any]:
    """The newest checkpoint file the audit wrote, as a second auditor receives it."""
    newest = max((folder / "checkpoints").glob("*.json"))  # named by zero-padded block number
    checkpoint: dict[str, Any] = json.loads(newest.read_text(encoding="utf-8"))
    return checkpoint


@pytest.fixture
def audited_ledger(tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord) -> Iterator[Ledger]:
    settings = make_settings(tmp_path, chain_node, deployment, f"sqlite:///{tmp_path / 'sijill.db'}")
    context = Ledger(settings)
    yield context
    context.close()


def test_a_node_script_with_only_crypto_recomputes_the_checkpoint_root_from_eth_get_logs(
    audited_ledger: Ledger, chain_node: ChainNode, tmp_path: Path
) -> None:
    """Two audits, one event apart (an odd and an even count, neither a power of two, or the
    unpaired nodes would go untested): each checkpoint's event count and root equal what the
    Node script computes from the chain up to the checkpoint's block."""
    ledger, folder = audited_ledger, tmp_path / "audit"
    populate(ledger)
    issue_documents(ledger, "qu", [IssueRequest("commercial-licence", licence("CL-2026-000900")["fields"])])
    counts = []
    for audit in range(2):
        if audit:
            issue_documents(ledger, "qu", [IssueRequest("commercial-licence", licence("CL-2026-000901")["fields"])])
        assert run_audit(ledger, folder=folder).findings == []
        checkpoint = latest_checkpoint(folder)
        assert checkpoint["leaf_encoding"] == "sijill-event-leaf/2"  # the encoding the README describes
        start, end = ledger.deployment.block_number, checkpoint["block_number"]
        theirs = recompute(chain_node.url, checkpoint["registry"], start, end)
        ours = {"event_count": checkpoint["event_count"], "events_root": checkpoint["events_root"]}
        assert theirs == ours, f"the Node auditor computed {theirs}, the checkpoint says {ours}"
        counts.append(checkpoint["event_count"])
    assert counts[1] == counts[0] + 1
    assert all(count & (count - 1) for count in counts), f"{counts}: a power of two has no unpaired node"
