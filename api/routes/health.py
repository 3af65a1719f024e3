"""Liveness of the service and its dependencies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep
from ledger.errors import SijillError

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service, chain and store health")
def health(ledger: LedgerDep) -> JSONResponse:
    """200 when the chain and the store answer, 503 naming what does not."""
    report: dict[str, Any] = {"status": "ok"}
    try:
        registry = ledger.registry
        report["chain"] = {
            "status": "ok",
            "chain_id": registry.chain_id,
            "registry": registry.address,
            "block_number": registry.block_number(),
            "paused": registry.is_paused(),
        }
    except SijillError as error:
        report["status"] = "degraded"
        report["chain"] = {"status": "unavailable", "message": error.message}
    try:
        ledger.store.ping()
        report["store"] = {"status": "ok"}
    except SijillError as error:
        report["status"] = "degraded"
        report["store"] = {"status": "unavailable", "message": error.message}
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
