"""Approvals: held decisions wait for a person's verdict; every decision's outcome is kept.

Agents ask for approval of `high` and `critical` decisions (`ApprovalRequest`) and report
what became of every decision (`DecisionReport`). People approve or deny through the desk
(CLI, later the dashboard); verdicts are pushed to the agent until it acknowledges them.
Verdicts are exported as labelled cases for tuning the risk screen (`export_verdicts`).
See docs/approvals.md.
"""

from control_plane.approvals.delivery import (
    VERDICT_MAX_RESEND_S,
    VERDICT_RESEND_S,
    VerdictCourier,
    VerdictDelivery,
    verdict_message,
)
from control_plane.approvals.desk import AUDIT_ACTIONS, EXPIRY_ACTOR, ApprovalDesk
from control_plane.approvals.errors import (
    ApprovalClosed,
    ApprovalError,
    ApprovalNotFound,
    ExportFailed,
    MalformedPayload,
    OverrideRequired,
)
from control_plane.approvals.export import (
    VERDICT_LABELS,
    VerdictExport,
    export_verdicts,
    parse_since,
    verdict_case,
    verdict_label,
)
from control_plane.approvals.intake import DecisionIntake
from control_plane.approvals.payloads import OUTCOMES, Outcome, ReportPayload, RequestPayload
from control_plane.approvals.records import (
    APPROVAL_STATUSES,
    Approval,
    ApprovalStatus,
    DecisionCounts,
    DecisionTrail,
    ReportedOutcome,
)
from control_plane.approvals.store import ApprovalStore

__all__ = [
    "APPROVAL_STATUSES",
    "AUDIT_ACTIONS",
    "EXPIRY_ACTOR",
    "OUTCOMES",
    "VERDICT_LABELS",
    "VERDICT_MAX_RESEND_S",
    "VERDICT_RESEND_S",
    "Approval",
    "ApprovalClosed",
    "ApprovalDesk",
    "ApprovalError",
    "ApprovalNotFound",
    "ApprovalStatus",
    "ApprovalStore",
    "DecisionCounts",
    "DecisionIntake",
    "DecisionTrail",
    "ExportFailed",
    "MalformedPayload",
    "Outcome",
    "OverrideRequired",
    "ReportPayload",
    "ReportedOutcome",
    "RequestPayload",
    "VerdictCourier",
    "VerdictDelivery",
    "VerdictExport",
    "export_verdicts",
    "parse_since",
    "verdict_case",
    "verdict_label",
    "verdict_message",
]
