"""How the chain looks from here: each endpoint's height, lag and last error, and whether verdicts can be made."""

from __future__ import annotations

from typing import Any

from ledger.errors import SijillError
from ledger.metrics import NodeState, ServiceState, StateCollector
from ledger.usecases.context import Ledger

LAG_BLOCKS = 5  # an endpoint further behind than this is shown as lagging


def chain_health(ledger: Ledger) -> dict[str, Any]:
    """The chain's state for `/health` and `sijill status`.

    `status` is "ok" when every endpoint answers within `LAG_BLOCKS` of the highest,
    "degraded" when some do not but at least the verify quorum does (verdicts go on), and
    "unavailable" when fewer than the quorum answer or the registry cannot be read.
    """
    settings = ledger.settings
    nodes = [node.as_dict() for node in ledger.nodes.health()]
    answering = [node for node in nodes if node["height"] is not None]
    report: dict[str, Any] = {
        "quorum": settings.verify_quorum,
        "proofs": settings.verify_proofs,
        "nodes": nodes,
    }
    if len(answering) < settings.verify_quorum:
        return {
            "status": "unavailable",
            "message": f"{len(answering)} of the chain's {len(nodes)} endpoints answer; verdicts need "
            f"{settings.verify_quorum}",
            **report,
        }
    try:
        registry = ledger.registry
        report.update(
            chain_id=registry.chain_id,
            registry=registry.address,
            block_number=max(node["height"] for node in answering),
            paused=registry.is_paused(),
        )
    except SijillError as error:
        return {"status": "unavailable", "message": error.message, **report}
    healthy = all(node["height"] is not None and node["lag"] <= LAG_BLOCKS for node in nodes)
    return {"status": "ok" if healthy else "degraded", **report}


def service_state(ledger: Ledger) -> ServiceState:
    """The pipeline's backlog (from the store, shared by every process) and each endpoint asked now."""
    nodes = [NodeState(endpoint=node.url, height=node.height, lag=node.lag) for node in ledger.nodes.health()]
    return ServiceState(
        queued_documents=ledger.queue.total_depth(),
        unsettled_batches=ledger.outbox.unsettled_batches(),
        nodes=nodes,
    )


def state_collector(ledger: Ledger) -> StateCollector:
    """`service_state` as gauges, read at each scrape."""
    return StateCollector(lambda: service_state(ledger))
