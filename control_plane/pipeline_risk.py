"""The pipeline's own decisions, screened like the agents' before the rollout engine acts.

A promotion that passed the gate, and every rollback, becomes a `Decision` (action
`promote_model` or `rollback_model`, site `control-plane`) whose context says what a person
would ask: on how many sites was the challenger evaluated, how much of its training input was
quarantined, how sure is the gate (its win share), does the rollout start with a canary, and
how many promotions and rollbacks ran lately (a pipeline that flaps). The guardrail rules
(`edgeward.risk.rules`) grade it; the verdict goes into the audit log either way.

What each verdict means here, and why:

- A gate-passed promotion in `auto` mode that screens `low` or `medium` starts its rollout
  (`medium` adds a notification to the audit log). One that screens `high` waits at the
  approval desk like an agent's held decision, under the site `control-plane`: approving it
  starts the rollout, denying it or letting it expire does not. One that screens `critical`
  needs an admin's override to be approved.
- A promotion an operator starts by hand is screened and recorded but not held: the person
  who would approve it is the one asking.
- Rollbacks are screened and recorded, never held: going back to the model that was working
  is the fail-safe direction, and a rollback that waited for a person would leave a regressed
  model on the network meanwhile. A flapping pipeline shows up in the next promotion's
  screening instead (it is held).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from control_plane.approvals import ApprovalDesk
from control_plane.promotion import GateReport
from control_plane.rollout import RolloutPlan, RolloutStore
from control_plane.settings import PipelineRiskSettings
from control_plane.state import AuditLog
from edgeward.risk import PIPELINE_SITE, Action, Decision, DecisionContext
from edgeward.risk.screening import Outcome, RiskScreener, Screening

log = logging.getLogger(__name__)

SCREEN_ACTOR: Final = "pipeline-screening"
"""The audit log's actor for the pipeline's screening verdicts and held requests."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PipelineVerdict:
    """A pipeline decision and its screening."""

    decision: Decision
    screening: Screening

    @property
    def runs(self) -> bool:
        """Whether the pipeline may act without a person's verdict."""
        return self.screening.outcome in (Outcome.RUN, Outcome.RUN_AND_NOTIFY)

    def to_dict(self) -> dict[str, Any]:
        """Return the decision and its screening as plain JSON."""
        return {
            "decision": self.decision.model_dump(mode="json"),
            "screening": self.screening.to_dict(),
        }


def promotion_decision(
    *, report: GateReport, plan: RolloutPlan, fleet_sites: int, recent_changes: int, now: float
) -> Decision:
    """Return the decision to roll the gate's challenger out to the fleet."""
    version = report.challenger_version
    values = {rule.rule: rule.value for rule in report.rules}
    sites = values.get("min_sites")
    quarantine = values.get("training_quarantine_rate")
    win_share = values.get("win_share")
    canary = max(1, math.ceil(plan.canary_fraction * fleet_sites)) if fleet_sites else 0
    parameters: dict[str, Any] = {
        "version": version,
        "baseline_version": report.champion_version,
        "canary_sites": canary,
        "fleet_sites": fleet_sites,
    }
    if fleet_sites and canary >= fleet_sites:
        parameters["wave"] = "all"
    return Decision(
        id=f"promote-v{version}-{int(now)}",
        site=PIPELINE_SITE,
        action=Action.PROMOTE_MODEL,
        target="fleet",
        parameters=parameters,
        model_version=version,
        # The gate's win share is how sure it is; with no champion to beat there is nothing
        # to be unsure about beyond the other rules.
        confidence=1.0 if win_share is None else min(1.0, max(0.0, win_share)),
        evidence={"win_share": win_share} if win_share is not None else {},
        context=DecisionContext(
            recent_similar=recent_changes,
            sites_evaluated=None if sites is None else int(sites),
            quarantine_rate=None if quarantine is None else min(1.0, max(0.0, quarantine)),
        ),
        summary=(
            f"Roll version {version} out to {fleet_sites} sites, canary {canary}: "
            f"evaluated on {_count(sites)} sites, gate {report.summary()}"
        )[:500],
        created_at=now,
    )


def rollback_decision(
    *,
    rollout_id: int,
    version: int,
    baseline_version: int | None,
    sites: int,
    reason: str,
    recent_changes: int,
    now: float,
) -> Decision:
    """Return the decision to take `version` back off the sites a rollout touched."""
    return Decision(
        id=f"rollback-r{rollout_id}-{int(now)}",
        site=PIPELINE_SITE,
        action=Action.ROLLBACK_MODEL,
        target="fleet",
        parameters={"rollout": rollout_id, "version": version, "to_version": baseline_version},
        model_version=version,
        context=DecisionContext(recent_similar=recent_changes),
        summary=(f"Roll {sites} sites back from version {version} to {baseline_version}: {reason}")[
            :500
        ],
        created_at=now,
    )


class PipelineScreen:
    """Screen promotions and rollbacks; hold the risky promotions at the approval desk."""

    def __init__(
        self,
        rollouts: RolloutStore,
        desk: ApprovalDesk,
        audit: AuditLog,
        *,
        recent_window_s: float,
        hold_s: float,
        screener: RiskScreener | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rollouts = rollouts
        self._desk = desk
        self._audit = audit
        self._screener = screener or RiskScreener()
        self.recent_window_s = recent_window_s
        self.hold_s = hold_s
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: PipelineRiskSettings,
        rollouts: RolloutStore,
        desk: ApprovalDesk,
        audit: AuditLog,
    ) -> PipelineScreen:
        """Return the screen the control plane's settings describe."""
        return cls(
            rollouts, desk, audit, recent_window_s=settings.recent_window_s, hold_s=settings.hold_s
        )

    def promotion(self, report: GateReport, plan: RolloutPlan, fleet_sites: int) -> PipelineVerdict:
        """Screen the promotion of the gate's challenger and record the verdict."""
        now = self._clock()
        decision = promotion_decision(
            report=report,
            plan=plan,
            fleet_sites=fleet_sites,
            recent_changes=self.recent_changes(now),
            now=now,
        )
        return self._screen(decision, subject=f"version {report.challenger_version}")

    def rollback(
        self,
        *,
        rollout_id: int,
        version: int,
        baseline_version: int | None,
        sites: int,
        reason: str,
    ) -> PipelineVerdict:
        """Screen a rollback and record the verdict (it runs whatever the verdict)."""
        now = self._clock()
        decision = rollback_decision(
            rollout_id=rollout_id,
            version=version,
            baseline_version=baseline_version,
            sites=sites,
            reason=reason,
            recent_changes=self.recent_changes(now),
            now=now,
        )
        return self._screen(decision, subject=f"rollout {rollout_id}")

    def hold(self, verdict: PipelineVerdict) -> bool:
        """Put a promotion before a person; False if it was already waiting."""
        now = self._clock()
        decision = verdict.decision.model_dump(mode="json")
        with self._desk.store.writer.transaction():
            created = self._desk.store.add_request(
                decision_id=verdict.decision.id,
                site=PIPELINE_SITE,
                risk=verdict.screening.level,
                decision=decision,
                screening=verdict.screening.to_dict(),
                expires_at=now + self.hold_s,
                now=now,
            )
            if created:
                self._audit.record(
                    actor=SCREEN_ACTOR,
                    action="approval.request",
                    subject=f"decision {verdict.decision.id}",
                    detail={
                        "site": PIPELINE_SITE,
                        "risk": verdict.screening.level,
                        "action": decision["action"],
                        "summary": decision["summary"],
                        "expires_at": now + self.hold_s,
                    },
                    now=now,
                )
        if created:
            log.warning(
                "the promotion of version %s waits for approval (decision %s): %s",
                verdict.decision.model_version,
                verdict.decision.id,
                "; ".join(verdict.screening.reasons),
            )
        return created

    def recent_changes(self, now: float) -> int:
        """Return the promotions and rollbacks of the last `recent_window_s` seconds."""
        return self._rollouts.changes_since(now - self.recent_window_s)

    def _screen(self, decision: Decision, *, subject: str) -> PipelineVerdict:
        verdict = PipelineVerdict(decision=decision, screening=self._screener.screen(decision))
        screening = verdict.screening
        self._audit.record(
            actor=SCREEN_ACTOR,
            action=f"pipeline.{decision.action.value}.{screening.level}",
            subject=subject,
            detail=verdict.to_dict(),
        )
        log.info(
            "%s screens %s (%s)",
            decision.summary,
            screening.level,
            "; ".join(screening.reasons),
        )
        return verdict


def _count(value: float | None) -> str:
    return "?" if value is None else str(int(value))
