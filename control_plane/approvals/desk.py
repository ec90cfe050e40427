"""The approval desk: people approve or deny held decisions; requests expire; queries.

A verdict and its audit entry (who, what, why) commit in one transaction, and only a pending
request can get one: the first verdict is final. An approval of a `critical` decision needs an
override (the dashboard lets only admins give one). The tick expires pending requests whose
`expires_at` has passed (audit actor `expiry`); an expired request cannot be decided any more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from control_plane.approvals.delivery import VerdictDelivery
from control_plane.approvals.errors import (
    ApprovalClosed,
    ApprovalError,
    ApprovalNotFound,
    OverrideRequired,
)
from control_plane.approvals.intake import DecisionIntake
from control_plane.approvals.records import (
    Approval,
    ApprovalStatus,
    DecisionCounts,
    DecisionTrail,
)
from control_plane.approvals.store import ApprovalStore
from control_plane.state import AuditLog, Writer
from edgeward.wire import new_message_id

log = logging.getLogger(__name__)

EXPIRY_ACTOR: Final = "expiry"
AUDIT_ACTIONS: Final[dict[ApprovalStatus, str]] = {
    "approved": "approval.approve",
    "denied": "approval.deny",
    "expired": "approval.expire",
}
"""The audit log's action for each way a request is closed."""


class ApprovalDesk:
    """Verdicts, expiry and queries over held decisions; `intake` and `delivery` talk to agents."""

    def __init__(
        self, writer: Writer, audit: AuditLog, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = ApprovalStore(writer)
        self.audit = audit
        self.clock = clock
        self.intake = DecisionIntake(self.store, audit, clock=clock)
        self.delivery = VerdictDelivery(self.store, clock=clock)

    # -- verdicts ---------------------------------------------------------------------
    def approve(
        self, decision_id: str, *, actor: str, comment: str, override: bool = False
    ) -> Approval:
        """Approve a pending decision; the agent runs it once the verdict reaches it."""
        return self._decide(
            decision_id, "approved", actor=actor, comment=comment, override=override
        )

    def deny(self, decision_id: str, *, actor: str, comment: str) -> Approval:
        """Deny a pending decision; the agent drops it."""
        return self._decide(decision_id, "denied", actor=actor, comment=comment, override=False)

    def expire_due(self) -> list[Approval]:
        """Close every pending request whose time is up; return them."""
        now = self.clock()
        expired = []
        for approval in self.store.due_to_expire(now):
            with self.store.writer.transaction():
                closed = self.store.decide(
                    approval.decision_id,
                    status="expired",
                    actor=EXPIRY_ACTOR,
                    comment="no verdict came before the request expired",
                    override=False,
                    verdict_message_id=None,
                    now=now,
                )
                if closed:
                    self._audit(approval, "expired", actor=EXPIRY_ACTOR, comment="", now=now)
                    expired.append(approval)
        for approval in expired:
            log.info("the approval request for %s expired", approval.decision_id)
        return expired

    # -- queries ----------------------------------------------------------------------
    def get(self, decision_id: str) -> Approval | None:
        """Return one decision's approval, or None if no agent asked for one."""
        return self.store.get(decision_id)

    def pending(self, *, limit: int | None = None) -> list[Approval]:
        """Return the decisions waiting for a verdict, oldest first."""
        return self.store.pending(limit=limit)

    def history(
        self,
        *,
        site: str | None = None,
        status: ApprovalStatus | None = None,
        risk: str | None = None,
        limit: int = 100,
    ) -> list[Approval]:
        """Return approvals in any status, newest first, filtered by site, status or risk."""
        return self.store.history(site=site, status=status, risk=risk, limit=limit)

    def decided(self, *, since: float | None = None) -> list[Approval]:
        """Return the approvals a person approved or denied (since a time), oldest first.

        Expired and pending requests are left out: no one judged them.
        """
        return self.store.decided(since=since)

    def trail(self, decision_id: str) -> DecisionTrail:
        """Return a decision's approval and reports; raise if nothing names it."""
        trail = DecisionTrail(
            decision_id=decision_id,
            approval=self.store.get(decision_id),
            reports=self.store.reports(decision_id),
        )
        if trail.approval is None and not trail.reports:
            raise ApprovalNotFound(f"no agent has asked about or reported decision {decision_id}")
        return trail

    def counts(self, *, since: float | None = None) -> DecisionCounts:
        """Return decisions by risk, reports by outcome and approvals by status."""
        return self.store.counts(since=since)

    # -- internals --------------------------------------------------------------------
    def _decide(
        self, decision_id: str, status: ApprovalStatus, *, actor: str, comment: str, override: bool
    ) -> Approval:
        if not actor.strip():
            raise ApprovalError("a verdict needs the name of the person who gives it")
        if not comment.strip():
            raise ApprovalError("a verdict needs a comment saying why; it goes to the audit log")
        self.expire_due()
        now = self.clock()
        with self.store.writer.transaction():
            approval = self.store.get(decision_id)
            _check_open(approval, decision_id, status=status, override=override, now=now)
            assert approval is not None  # noqa: S101 (checked just above, for mypy)
            self.store.decide(
                decision_id,
                status=status,
                actor=actor,
                comment=comment,
                override=override,
                verdict_message_id=new_message_id(),
                now=now,
            )
            self._audit(approval, status, actor=actor, comment=comment, now=now, override=override)
        log.info("%s %s decision %s: %s", actor, status, decision_id, comment)
        decided = self.store.get(decision_id)
        assert decided is not None  # noqa: S101 (a row is never deleted)
        return decided

    def _audit(
        self,
        approval: Approval,
        status: ApprovalStatus,
        *,
        actor: str,
        comment: str,
        now: float,
        override: bool = False,
    ) -> None:
        self.audit.record(
            actor=actor,
            action=AUDIT_ACTIONS[status],
            subject=f"decision {approval.decision_id}",
            detail={
                "site": approval.site,
                "risk": approval.risk,
                "action": approval.action,
                "summary": approval.summary,
                "comment": comment,
                "override": override,
                "expires_at": approval.expires_at,
            },
            now=now,
        )


def _check_open(
    approval: Approval | None,
    decision_id: str,
    *,
    status: ApprovalStatus,
    override: bool,
    now: float,
) -> None:
    """Raise unless `approval` exists, is pending, not past its time, and may get `status`."""
    if approval is None:
        raise ApprovalNotFound(f"no agent asked for approval of decision {decision_id}")
    if approval.status == "expired" or approval.expires_at <= now:
        raise ApprovalClosed(
            f"the approval request for decision {decision_id} expired at "
            f"{_when(approval.expires_at)}; it can no longer be decided"
        )
    if approval.status != "pending":
        raise ApprovalClosed(
            f"decision {decision_id} was already {approval.status} by {approval.actor}; "
            "the first verdict is final"
        )
    if status == "approved" and approval.risk == "critical" and not override:
        raise OverrideRequired(
            f"decision {decision_id} is critical, and critical decisions run only with an "
            "admin override"
        )


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
