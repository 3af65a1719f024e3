"""Liveness of the service and its dependencies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep
from ledger.errors import SijillError
from ledger.usecases.health import chain_health

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service, chain and store health")
def health(ledger: LedgerDep) -> JSONResponse:
    """200 when the chain and the store answer, 503 naming what does not. The chain's part lists each
    endpoint's height, lag and last error; one endpoint down of several is "degraded", still 200."""
    report: dict[str, Any] = {"status": "ok", "chain": chain_health(ledger)}
    if report["chain"]["status"] == "unavailable":
        report["status"] = "degraded"
    try:
        ledger.store.ping()
        report["store"] = {"status": "ok"}
    except SijillError as error:
        report["status"] = "degraded"
        report["store"] = {"status": "unavailable", "message": error.message}
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
