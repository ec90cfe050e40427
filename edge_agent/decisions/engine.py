"""Screen each proposed decision and carry out what the verdict says, exactly once.

- low: runs; medium: runs and the report notifies people; high: held, and an approval request
  goes to the control plane (through the outbox, so it waits out a dead link); critical:
  blocked, and the request still goes so an admin can override.
- A verdict from the control plane moves a held (or, with an admin override, a blocked)
  decision to approved and runs it, or to denied. The journal's conditional updates make the
  first verdict final and a repeat harmless; a decision past its expiry never runs.
- Every decision and each change of its status is reported (`DecisionReport`) with the model
  version that proposed it. A report that cannot be put in the outbox (a full disk) never
  fails the decision: the journal notes which status was last reported, and a periodic pass
  sends the current status of every decision whose report lags.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from edge_agent.decisions.journal import DecisionJournal, Status
from edgeward.risk import Decision, RiskLevel
from edgeward.risk.screening import Outcome, RiskScreener, Screening
from edgeward.wire import Ack, ApprovalRequest, ApprovalVerdict, DecisionReport, WireMessage

log = logging.getLogger(__name__)
DEFAULT_APPROVAL_TIMEOUT_S: Final = 900.0

STATUS_BY_OUTCOME: Final[dict[Outcome, Status]] = {
    Outcome.RUN: "executed",
    Outcome.RUN_AND_NOTIFY: "notified",
    Outcome.HOLD: "held",
    Outcome.BLOCK: "blocked",
}


class ActionSink(Protocol):
    """Where actions are carried out (an MQTT topic the equipment listens on, a test list)."""

    def execute(self, decision: Decision) -> None:
        """Carry out the decision's action; raise if it could not be done."""


Explainer = Callable[[Decision, RiskLevel, Sequence[str]], str]
"""Write the one-sentence rationale a person reads beside a held decision."""


class DecisionEngine:
    """The agent's decision path after the policy: screen, record, act, report."""

    def __init__(
        self,
        *,
        site: str,
        journal: DecisionJournal,
        screener: RiskScreener,
        sink: ActionSink,
        send: Callable[[WireMessage], None] | None = None,
        explain: Explainer | None = None,
        on_held: Callable[[], None] | None = None,
        approval_timeout_s: float = DEFAULT_APPROVAL_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.site = site
        self.journal = journal
        self.screener = screener
        self._sink = sink
        self._send = send
        self._explain = explain
        self._on_held = on_held
        self._approval_timeout_s = approval_timeout_s
        self._clock = clock
        self._lock = threading.Lock()

    def propose(self, decision: Decision) -> Screening:
        """Screen `decision` and act on the verdict; return the verdict."""
        with self._lock:  # recent actions and their effect are read and written in order
            screening = self.screener.screen(decision, self.journal.recent())
            status = STATUS_BY_OUTCOME[screening.outcome]
            expires_at = None
            if status in ("held", "blocked"):
                expires_at = self._clock() + self._approval_timeout_s
            if not self.journal.record(decision, screening, status, expires_at=expires_at):
                return screening  # the same decision again: already handled
            if status in ("executed", "notified"):
                self._run(decision, status)
            else:
                self._report(decision, screening, status)
                if self._on_held is not None:
                    self._on_held()  # the request (and its rationale) is written off this path
            return screening

    def on_verdict(self, verdict: ApprovalVerdict) -> WireMessage:
        """Act on a person's verdict (pushed by the control plane); always acknowledge."""
        row = self.journal.get(verdict.decision_id)
        if row is None:
            log.warning("a verdict for unknown decision %s was ignored", verdict.decision_id)
            return Ack(ok=True)
        actor = str(verdict.payload.get("actor", "operator"))
        override = bool(verdict.payload.get("override", False))
        source: Status = "blocked" if row.status == "blocked" and override else "held"
        if row.expires_at is not None and self._clock() > row.expires_at:
            self._expire(verdict.decision_id)
            return Ack(ok=True)
        target: Status = "approved" if verdict.approved else "denied"
        if self.journal.advance(verdict.decision_id, from_=source, to=target, by=actor):
            log.info("decision %s %s by %s", verdict.decision_id, target, actor)
            self._report(row.decision, None, target)
            if verdict.approved:
                with self._lock:
                    if self.journal.advance(verdict.decision_id, from_="approved", to="executed"):
                        self._run(row.decision, "executed")
        return Ack(ok=True)

    def expire_overdue(self) -> list[str]:
        """Mark held or blocked decisions whose approval window closed; return their ids."""
        expired = [d for d in self.journal.held_past(self._clock()) if self._expire(d)]
        return expired

    def _expire(self, decision_id: str) -> bool:
        statuses: tuple[Status, ...] = ("held", "blocked")
        for status in statuses:
            if self.journal.advance(decision_id, from_=status, to="expired", by="expiry"):
                row = self.journal.get(decision_id)
                if row is not None:
                    self._report(row.decision, None, "expired")
                return True
        return False

    def _run(self, decision: Decision, status: Status) -> None:
        # The row already says executed: a crash here means it ran at most once, never twice.
        try:
            self._sink.execute(decision)
        except Exception as err:
            log.error("decision %s (%s) failed: %s", decision.id, decision.action.value, err)
            self.journal.advance(decision.id, from_=status, to="failed")
            self._report(decision, None, "failed", detail=str(err))
            return
        self._report(decision, None, status)

    def ask_pending(self) -> int:
        """Send approval requests for held or blocked decisions not yet asked about.

        Runs off the decision path (it may generate a rationale with the LLM, which takes
        seconds), and again after a restart, so a recorded hold is never left unasked.
        """
        if self._send is None:
            return 0
        rows = self.journal.unasked()
        for row in rows:
            screening = dict(row.screening)
            screening["rationale"] = self._rationale(row.decision, screening)
            self._send(
                ApprovalRequest(
                    id=f"{row.decision.id[:59]}.ask",
                    decision_id=row.decision.id,
                    site=self.site,
                    risk=row.level,  # type: ignore[arg-type]
                    payload={
                        "decision": row.decision.model_dump(mode="json"),
                        "screening": screening,
                        "expires_at": row.expires_at,
                    },
                )
            )
            self.journal.mark_asked(row.decision.id)
        return len(rows)

    def _rationale(self, decision: Decision, screening: dict[str, Any]) -> str:
        reasons = [str(reason) for reason in screening.get("reasons", [])]
        level = screening.get("level", "high")
        fallback = f"{level.capitalize()} risk: {'; '.join(reasons) or 'see the layers'}."
        if self._explain is None:
            return fallback
        try:
            return self._explain(decision, level, reasons) or fallback
        except Exception as err:
            log.warning("no rationale for decision %s: %s", decision.id, err)
            return fallback

    def report_unreported(self) -> int:
        """Report again the status of decisions whose last report never reached the outbox.

        Runs periodically and at start, off the decision path, like `ask_pending`. It only
        sends a report, never touches the action, so an outcome reported twice still ran once
        (and the control plane keeps one report per decision and outcome). Returns how many
        reports were stored this time.
        """
        if self._send is None:
            return 0
        # Under the lock, so it never reports `executed` between that record and the action.
        with self._lock:
            stored = 0
            for row in self.journal.unreported():
                ran_at = row.executed_at if row.status in ("executed", "notified") else None
                detail = "sent again: the first report could not be stored"
                if self._report(row.decision, None, row.status, detail=detail, at=ran_at):
                    stored += 1
        return stored

    def _report(
        self,
        decision: Decision,
        screening: Screening | None,
        outcome: Status,
        *,
        detail: str = "",
        at: float | None = None,
    ) -> bool:
        """Put the report of `outcome` in the outbox; return False if that failed.

        A failure (the store's disk full) is logged, not raised: the decision's status is
        journaled already, the action must not be held up by its report, and the journal's
        `reported_status` lags until `report_unreported` manages to send it.
        """
        if self._send is None:
            return False
        try:
            row = self.journal.get(decision.id)
            screening_data = screening.to_dict() if screening else (row.screening if row else {})
            self._send(
                DecisionReport(
                    id=f"{decision.id[:40]}.{outcome}",
                    decision_id=decision.id,
                    site=self.site,
                    risk=screening.level if screening else (row.level if row else "low"),  # type: ignore[arg-type]
                    payload={
                        "decision": decision.model_dump(mode="json"),
                        "screening": screening_data,
                        "outcome": outcome,
                        "detail": detail,
                        "at": self._clock() if at is None else at,
                    },
                )
            )
            self.journal.mark_reported(decision.id, outcome)
        except Exception as err:
            log.warning(
                "reporting decision %s as %s failed (%s); it will be sent again",
                decision.id,
                outcome,
                err,
            )
            return False
        return True
