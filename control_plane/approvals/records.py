"""Approvals and decision reports as the control plane stores them, ready for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from edgeward.risk import RiskLevel

ApprovalStatus = Literal["pending", "approved", "denied", "expired"]
APPROVAL_STATUSES: Final[tuple[ApprovalStatus, ...]] = ("pending", "approved", "denied", "expired")
VERDICT_STATUSES: Final[tuple[ApprovalStatus, ...]] = ("approved", "denied")
"""The statuses a person's verdict sets; only these are sent to the agent."""


@dataclass(kw_only=True, slots=True, frozen=True)
class Approval:
    """A decision an agent holds for a person's verdict, and what became of the request.

    `verdict_message_id` is the id of the `ApprovalVerdict` (kept by every resend);
    `verdict_delivered_at` is when the agent acknowledged it, and `verdict_detail` what the
    agent said if it declined or refused it.
    """

    decision_id: str
    site: str
    risk: RiskLevel
    decision: dict[str, Any]
    screening: dict[str, Any]
    requested_at: float
    expires_at: float
    status: ApprovalStatus
    actor: str | None
    comment: str
    decided_at: float | None
    override: bool
    verdict_message_id: str | None
    verdict_attempts: int
    verdict_sent_at: float | None
    verdict_delivered_at: float | None
    verdict_detail: str

    @property
    def action(self) -> str:
        """Return the proposed action's name."""
        return str(self.decision.get("action", ""))

    @property
    def summary(self) -> str:
        """Return the decision's one-line summary."""
        return str(self.decision.get("summary", ""))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(kw_only=True, slots=True, frozen=True)
class ReportedOutcome:
    """One outcome an agent reported for a decision (a decision may have several)."""

    decision_id: str
    outcome: str
    site: str
    risk: RiskLevel
    action: str
    model_version: int | None
    at: float
    received_at: float
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(kw_only=True, slots=True, frozen=True)
class DecisionCounts:
    """How many decisions were reported per risk level, reports per outcome, approvals per status.

    `decisions_by_risk` counts distinct decisions (one held then executed counts once);
    `reports_by_outcome` counts reports (that decision counts under held and executed).
    """

    decisions_by_risk: dict[str, int] = field(default_factory=dict)
    reports_by_outcome: dict[str, int] = field(default_factory=dict)
    approvals_by_status: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {name: dict(getattr(self, name)) for name in self.__slots__}


@dataclass(kw_only=True, slots=True, frozen=True)
class DecisionTrail:
    """Everything known of one decision: its approval request (if it needed one) and reports."""

    decision_id: str
    approval: Approval | None
    reports: list[ReportedOutcome]

    @property
    def decision(self) -> dict[str, Any]:
        """Return the decision as the agent described it (from the request or latest report)."""
        if self.approval is not None:
            return self.approval.decision
        return dict(self.reports[-1].payload.get("decision", {})) if self.reports else {}

    @property
    def screening(self) -> dict[str, Any]:
        """Return how the agent screened the decision (from the request or latest report)."""
        if self.approval is not None:
            return self.approval.screening
        return dict(self.reports[-1].payload.get("screening", {})) if self.reports else {}

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "decision_id": self.decision_id,
            "decision": self.decision,
            "screening": self.screening,
            "approval": None if self.approval is None else self.approval.to_dict(),
            "reports": [report.to_dict() for report in self.reports],
        }
