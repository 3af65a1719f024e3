"""The council's proposals: read by anyone with the admin scope, proposed and approved with the
member keys this service holds (development: all; production: never M of them)."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, LedgerDep
from api.schemas import ApprovalOut, ProposalOut, ProposeBody
from ledger.usecases.council import ProposalView, approve, execute, held_member, list_proposals, propose
from ledger.usecases.council import status as proposal_status

router = APIRouter(prefix="/v1/governance", tags=["governance"])


def _out(view: ProposalView) -> ProposalOut:
    data = view.as_dict()
    data["approvals"] = [ApprovalOut(**approval) for approval in data["approvals"]]
    return ProposalOut(**data)


@router.get("/proposals", summary="The council's latest proposals")
def proposals(_admin: AdminDep, ledger: LedgerDep) -> list[ProposalOut]:
    """Newest first, each as it stands on chain: its action in words, approvals, threshold, time it can run."""
    return [_out(view) for view in list_proposals(ledger)]


@router.get("/proposals/{proposal_id}", summary="One council proposal")
def proposal(proposal_id: int, _admin: AdminDep, ledger: LedgerDep) -> ProposalOut:
    """404 for an unknown number."""
    return _out(proposal_status(ledger, proposal_id))


@router.post("/proposals", status_code=status.HTTP_201_CREATED, summary="Propose a council action")
def create_proposal(body: ProposeBody, _admin: AdminDep, ledger: LedgerDep) -> ProposalOut:
    """Proposed and approved with a member key this service holds (403 when it holds none)."""
    return _out(propose(ledger, held_member(ledger), body.action, body.arguments))


@router.post("/proposals/{proposal_id}/approve", summary="Approve a council proposal")
def approve_proposal(proposal_id: int, _admin: AdminDep, ledger: LedgerDep) -> ProposalOut:
    """With a held member key that has not approved it yet (403 when none is left); the M-th approval schedules it."""
    return _out(approve(ledger, held_member(ledger, proposal_id), proposal_id))


@router.post("/proposals/{proposal_id}/execute", summary="Execute a council proposal")
def execute_proposal(proposal_id: int, _admin: AdminDep, ledger: LedgerDep) -> ProposalOut:
    """Schedules it once M approved, or runs it once its delay passed: 425 with Retry-After before then."""
    return _out(execute(ledger, ledger.admin, proposal_id))
