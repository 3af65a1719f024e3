"""The access log, for auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AuditorDep, LedgerDep
from api.schemas import AccessEntryOut

router = APIRouter(prefix="/v1/access-log", tags=["audit"])


@router.get("", summary="Who issued, revoked, read or governed what (no personal data)")
def access_log(
    auditor: AuditorDep,
    ledger: LedgerDep,
    after: Annotated[int, Query(ge=0, lt=2**62, description="entries after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AccessEntryOut]:
    """An agency's key sees its agency's entries; an installation key (audit, admin) sees every entry."""
    rows = ledger.store.access_log(agency_id=auditor.agency_id, after=after, limit=limit)
    return [
        AccessEntryOut(
            id=row.id,
            at=row.at,
            actor=row.actor,
            key_id=row.key_id,
            agency_id=row.agency_id,
            action=row.action,
            target=row.target,
            status=row.status,
        )
        for row in rows
    ]
