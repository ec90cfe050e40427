"""Endpoints for risk: held decisions, verdicts, decision counts, the screener's accuracy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ui.api import schemas
from ui.api.auth import Caller, Ops
from ui.api.params import DecisionPath

router = APIRouter(tags=["risk"])


@router.get("/approvals", response_model=list[schemas.Approval])
def approvals(
    ops: Ops,
    who: Caller,
    status: schemas.StatusName | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Return approval requests in `status` (any when omitted), newest first."""
    return [approval.to_dict() for approval in ops.approvals(who, status=status, limit=limit)]


@router.get("/approvals/{decision_id}", response_model=schemas.DecisionTrail)
def approval(decision_id: DecisionPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Return a decision: its request, screening, verdict and what its site reported."""
    return ops.decision(who, decision_id).to_dict()


@router.post("/approvals/{decision_id}/approve", response_model=schemas.Approval)
def approve(
    decision_id: DecisionPath, body: schemas.VerdictBody, ops: Ops, who: Caller
) -> dict[str, Any]:
    """Approve a held decision (one screened critical takes an admin)."""
    return ops.approve(who, decision_id, comment=body.comment).to_dict()


@router.post("/approvals/{decision_id}/deny", response_model=schemas.Approval)
def deny(
    decision_id: DecisionPath, body: schemas.VerdictBody, ops: Ops, who: Caller
) -> dict[str, Any]:
    """Deny a held decision; its site drops it."""
    return ops.deny(who, decision_id, comment=body.comment).to_dict()


@router.get("/risk/accuracy", response_model=schemas.ScreenerAccuracy)
def accuracy(ops: Ops, who: Caller) -> dict[str, Any]:
    """Return how often the screener's level matched people's verdicts."""
    return ops.screener_accuracy(who).to_dict()


@router.get("/decisions/counts", response_model=schemas.DecisionCounts)
def decision_counts(
    ops: Ops,
    who: Caller,
    since: Annotated[float | None, Query(ge=0, le=1e11, description="Unix seconds.")] = None,
) -> dict[str, Any]:
    """Return decisions by risk, reports by outcome and approvals by status."""
    return ops.decision_counts(who, since=since)
