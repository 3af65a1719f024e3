"""The service's metrics for Prometheus, for a key with the `monitor` scope."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import LedgerDep, MonitorDep
from ledger.metrics import CONTENT_TYPE
from ledger.usecases.health import state_collector

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Metrics in Prometheus' text format (monitor scope)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus' text exposition format"}},
)
def metrics(_monitor: MonitorDep, ledger: LedgerDep) -> Response:
    """Every service process's counts added up (node answers and wrong answers, verdicts by status,
    batch sizes, time to anchor, rate-limit refusals), and what is read now: the queue's depth, the
    batches awaiting finality, each endpoint's height and lag."""
    return Response(ledger.metrics.exposition([state_collector(ledger)]), media_type=CONTENT_TYPE)
