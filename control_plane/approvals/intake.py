"""What agents tell the control plane about decisions: approval requests and decision reports.

Both handlers check the payload (see `payloads`) and answer with an `Ack`, or an `ErrorReply`
(`rejected`) saying in a sentence what is wrong, so the agent's outbox drops a message that
resending cannot fix. A repeat of a request or report is acknowledged and changes nothing; a
request for a decision that already has its verdict (or expired) is acknowledged without
reopening it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from control_plane.approvals.errors import ApprovalError, MalformedPayload
from control_plane.approvals.payloads import parse_report, parse_request
from control_plane.approvals.store import ApprovalStore
from control_plane.state import AuditLog
from edgeward.risk import Decision
from edgeward.wire import (
    Ack,
    ApprovalRequest,
    DecisionReport,
    ErrorCode,
    ErrorReply,
    WireMessage,
)

log = logging.getLogger(__name__)

RAN_OUTCOMES = frozenset({"executed", "notified"})
"""Outcomes that mean the action ran on the network."""


class DecisionIntake:
    """Take in approval requests and decision reports from agents."""

    def __init__(
        self, store: ApprovalStore, audit: AuditLog, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    def request(self, site: str, message: ApprovalRequest) -> WireMessage:
        """Hold a decision for a person's verdict (a wire handler: returns the reply)."""
        try:
            payload = parse_request(message.payload, decision_id=message.decision_id)
            self._check_owner(site, message.decision_id, payload.decision)
        except ApprovalError as err:
            log.warning("refused an approval request from %s: %s", site, err)
            return ErrorReply(code=ErrorCode.REJECTED, detail=str(err))
        decision = payload.decision.model_dump(mode="json")
        with self._store.writer.transaction():
            created = self._store.add_request(
                decision_id=message.decision_id,
                site=site,
                risk=message.risk,
                decision=decision,
                screening=payload.screening,
                expires_at=payload.expires_at,
                now=self._clock(),
            )
            if created:
                self._audit.record(
                    actor=f"agent:{site}",
                    action="approval.request",
                    subject=f"decision {message.decision_id}",
                    detail={
                        "site": site,
                        "risk": message.risk,
                        "action": decision["action"],
                        "summary": decision["summary"],
                        "expires_at": payload.expires_at,
                    },
                )
        if created:
            log.info(
                "site %s asks for approval of %s decision %s: %s",
                site,
                message.risk,
                message.decision_id,
                decision["summary"],
            )
            return Ack(ok=True)
        return Ack(ok=True, detail=self._repeat_detail(message.decision_id))

    def report(self, site: str, message: DecisionReport) -> WireMessage:
        """Record what became of a decision (a wire handler: returns the reply)."""
        try:
            payload = parse_report(message.payload, decision_id=message.decision_id)
            self._check_owner(site, message.decision_id, payload.decision)
        except ApprovalError as err:
            log.warning("refused a decision report from %s: %s", site, err)
            return ErrorReply(code=ErrorCode.REJECTED, detail=str(err))
        created = self._store.add_report(
            decision_id=message.decision_id,
            outcome=payload.outcome,
            site=site,
            risk=message.risk,
            action=payload.decision.action.value,
            model_version=payload.decision.model_version,
            at=payload.at,
            payload=message.payload,
            now=self._clock(),
        )
        if created and payload.outcome in RAN_OUTCOMES:
            self._warn_if_unapproved(site, message.decision_id)
        return Ack(ok=True)

    def _check_owner(self, site: str, decision_id: str, decision: Decision) -> None:
        if decision.site and decision.site != site:
            raise MalformedPayload(
                f"decision {decision_id} names site {decision.site}, but this connection is "
                f"authenticated as site {site}"
            )
        owner = self._store.owner(decision_id)
        if owner is not None and owner != site:
            raise ApprovalError(
                f"decision id {decision_id} already belongs to site {owner}; "
                "each decision needs an id of its own"
            )

    def _repeat_detail(self, decision_id: str) -> str:
        approval = self._store.get(decision_id)
        status = approval.status if approval else "pending"
        return f"decision {decision_id} was asked about before; it is {status}"

    def _warn_if_unapproved(self, site: str, decision_id: str) -> None:
        approval = self._store.get(decision_id)
        if approval is not None and approval.status in ("denied", "expired"):
            log.warning(
                "site %s reports that decision %s ran although its approval was %s",
                site,
                decision_id,
                approval.status,
            )
