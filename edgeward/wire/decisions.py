"""Decision messages: reports, approval requests and verdicts (see docs/risk.md).

An agent reports every screened decision and each change of its status (`DecisionReport`,
idempotent by decision id and `payload.outcome`), asks a human to approve a risky one
(`ApprovalRequest`, idempotent by decision id) and hears the verdict (`ApprovalVerdict`): the
first verdict for a decision is final, and the agent acknowledges repeats without acting again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgeward.risk.decision import RiskLevel
from edgeward.wire.base import ID_PATTERN, JsonObject, SiteName, WireMessage


class _DecisionMessage(WireMessage):
    """Fields every decision message shares."""

    decision_id: str = Field(pattern=ID_PATTERN)
    site: SiteName
    risk: RiskLevel
    payload: JsonObject = Field(default_factory=dict)


class DecisionReport(_DecisionMessage):
    """Report a decision the agent screened (and what became of it) for the audit trail."""

    type: Literal["decisions.report"] = "decisions.report"


class ApprovalRequest(_DecisionMessage):
    """Ask the control plane to hold a risky decision for a human's approval."""

    type: Literal["decisions.approval_request"] = "decisions.approval_request"


class ApprovalVerdict(_DecisionMessage):
    """Tell the agent whether a person approved the decision (pushed by the control plane)."""

    type: Literal["decisions.approval_verdict"] = "decisions.approval_verdict"
    approved: bool
