"""Risk: held decisions, verdicts, decision counts and the screener's accuracy."""

from __future__ import annotations

from typing import Any, Final

from control_plane.access import Permission, Principal
from control_plane.approvals import Approval, ApprovalStatus, DecisionTrail
from control_plane.operations.base import OperationsBase
from control_plane.operations.views import (
    ScreenerAccuracy,
    screener_accuracy,
)

CLOSED_STATUSES: Final[tuple[ApprovalStatus, ...]] = ("approved", "denied", "expired")
"""The statuses an approval ends in."""


class RiskOperations(OperationsBase):
    """Risk and approval operations."""

    # -- risk -----------------------------------------------------------------------
    def approvals(
        self, who: Principal, *, status: ApprovalStatus | None = None, limit: int = 100
    ) -> list[Approval]:
        """Return approvals in `status` (any when None), newest first."""
        who.require(Permission.VIEW)
        return self.plane.approvals.history(status=status, limit=limit)

    def pending_approvals(self, who: Principal) -> list[Approval]:
        """Return the decisions waiting for a verdict, oldest first."""
        who.require(Permission.VIEW)
        return self.plane.approvals.pending()

    def approval_history(self, who: Principal, *, limit: int = 50) -> list[Approval]:
        """Return approvals that are closed (approved, denied, expired), newest verdict first."""
        who.require(Permission.VIEW)
        closed = [
            approval
            for status in CLOSED_STATUSES
            for approval in self.plane.approvals.history(status=status, limit=limit)
        ]
        closed.sort(key=lambda a: a.decided_at or a.expires_at, reverse=True)
        return closed[:limit]

    def decision(self, who: Principal, decision_id: str) -> DecisionTrail:
        """Return a decision's approval request and what its site reported about it."""
        who.require(Permission.VIEW)
        return self.plane.approvals.trail(decision_id)

    def approve(self, who: Principal, decision_id: str, *, comment: str) -> Approval:
        """Approve a held decision (one screened critical takes an admin's override)."""
        who.require(Permission.DECIDE_APPROVAL)
        held = self.plane.approvals.get(decision_id)
        override = held is not None and held.risk == "critical"
        if override:
            who.require(Permission.OVERRIDE_CRITICAL)
        return self.plane.approvals.approve(
            decision_id, actor=who.name, comment=comment, override=override
        )

    def deny(self, who: Principal, decision_id: str, *, comment: str) -> Approval:
        """Deny a held decision; its site drops it."""
        who.require(Permission.DECIDE_APPROVAL)
        return self.plane.approvals.deny(decision_id, actor=who.name, comment=comment)

    def decision_counts(self, who: Principal, *, since: float | None = None) -> dict[str, Any]:
        """Return decisions by risk, reports by outcome and approvals by status."""
        who.require(Permission.VIEW)
        return self.plane.approvals.counts(since=since).to_dict()

    def screener_accuracy(self, who: Principal) -> ScreenerAccuracy:
        """Return how often the screener's level matched people's verdicts."""
        who.require(Permission.VIEW)
        return screener_accuracy(self.plane.approvals.decided())
