"""Read-only pictures of the control plane that pages and the API show (JSON-ready values).

Built from the stores on each call (no cache): SQLite answers these in milliseconds for a
fleet of hundreds and keeps every page and scrape current. See benchmarks/dashboard.py.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from certs import DeviceRecord
from control_plane.approvals import Approval, verdict_label
from control_plane.rollout import Rollout
from control_plane.state import SiteRecord

QUARANTINE_PREFIX = "quarantined."
"""Heartbeat health keys `quarantined.<reason>` count what a site quarantined for each reason."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteView:
    """A site as the fleet page shows it."""

    site: str
    online: bool
    last_seen: float
    active_version: int | None
    previous_version: int | None
    agent_version: str | None
    enrollment: str
    """`enrolled`, `revoked`, or `unknown` (reporting without a record in the device index)."""
    health: dict[str, float]
    quality: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the site as plain JSON."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class FleetSummary:
    """How the fleet is doing, in a few numbers."""

    sites: int
    online: int
    offline: int
    revoked: int
    on_champion: int
    ingest_rate: float
    """Records per second across the fleet (the sum of the sites' last reports)."""
    quarantine_rate: float
    """The mean share of records quarantined at the sites (their last reports)."""
    live_mae_mean: float | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ScreenerAccuracy:
    """How often the screener's level matched what people's verdicts say it should be."""

    judged: int
    agreed: int
    by_level: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per screened level: judged and agreed counts."""

    @property
    def accuracy(self) -> float | None:
        """Return agreed / judged, or None before anyone judged anything."""
        return self.agreed / self.judged if self.judged else None

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as plain JSON."""
        return {**asdict(self), "accuracy": self.accuracy}


@dataclass(frozen=True, kw_only=True, slots=True)
class Overview:
    """The whole system at a glance: what the overview page and `/api/v1/overview` show."""

    generated_at: float
    fleet: FleetSummary
    champion: int | None
    aliases: dict[str, int]
    """Every alias (champion and named challengers) and the version it points at."""
    latest_version: int | None
    active_rollout: dict[str, Any] | None
    """The running or paused rollout: id, version, status, wave, sites activated of total."""
    pending_approvals: int
    decisions_by_risk: dict[str, int]
    """Decisions reported in the last 24 hours, by risk level."""
    quarantine_by_reason: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the overview as plain JSON."""
        return asdict(self)


def site_views(
    records: list[SiteRecord],
    devices: list[DeviceRecord],
    *,
    online_within_s: float,
    now: float | None = None,
) -> list[SiteView]:
    """Return every site that reported or is enrolled, by name."""
    at = time.time() if now is None else now
    enrollment = {d.site: ("enrolled" if d.active else "revoked") for d in devices}
    reported = {r.site: r for r in records}
    views = []
    for name in sorted(set(reported) | set(enrollment)):
        record = reported.get(name)
        views.append(
            SiteView(
                site=name,
                online=record is not None and at - record.last_seen <= online_within_s,
                last_seen=record.last_seen if record else 0.0,
                active_version=record.active_version if record else None,
                previous_version=record.previous_version if record else None,
                agent_version=record.agent_version if record else None,
                enrollment=enrollment.get(name, "unknown"),
                health=dict(record.health) if record else {},
                quality=dict(record.quality) if record else {},
            )
        )
    return views


def fleet_summary(views: list[SiteView], champion: int | None) -> FleetSummary:
    """Return the fleet's numbers from its site views."""
    reporting = [v for v in views if v.last_seen]
    maes = [v.quality["live_mae"] for v in reporting if "live_mae" in v.quality]
    quarantine = [v.health["quarantine_rate"] for v in reporting if "quarantine_rate" in v.health]
    online = sum(v.online for v in views)
    return FleetSummary(
        sites=len(views),
        online=online,
        offline=len(views) - online,
        revoked=sum(v.enrollment == "revoked" for v in views),
        on_champion=sum(champion is not None and v.active_version == champion for v in views),
        ingest_rate=round(sum(v.health.get("ingest_rate", 0.0) for v in reporting), 3),
        quarantine_rate=round(statistics.fmean(quarantine), 5) if quarantine else 0.0,
        live_mae_mean=round(statistics.fmean(maes), 5) if maes else None,
    )


def quarantine_by_reason(views: list[SiteView]) -> dict[str, float]:
    """Return the fleet's recent quarantine counts by reason (from the sites' last reports)."""
    totals: dict[str, float] = {}
    for view in views:
        for key, value in view.health.items():
            if key.startswith(QUARANTINE_PREFIX):
                reason = key.removeprefix(QUARANTINE_PREFIX)
                totals[reason] = totals.get(reason, 0.0) + value
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def screener_accuracy(decided: list[Approval]) -> ScreenerAccuracy:
    """Return how the screened level of judged decisions compares with people's verdicts."""
    judged = agreed = 0
    by_level: dict[str, dict[str, int]] = {}
    for approval in decided:
        label = verdict_label(approval)
        if label is None:
            continue
        row = by_level.setdefault(approval.risk, {"judged": 0, "agreed": 0})
        judged += 1
        row["judged"] += 1
        if label == approval.risk:
            agreed += 1
            row["agreed"] += 1
    return ScreenerAccuracy(judged=judged, agreed=agreed, by_level=by_level)


def rollout_brief(rollout: Rollout) -> dict[str, Any]:
    """Return a rollout in a few fields: id, version, status, wave, sites activated of total."""
    done = sum(site.status == "activated" for site in rollout.sites)
    return {
        "id": rollout.id,
        "version": rollout.version,
        "baseline_version": rollout.baseline_version,
        "status": rollout.status,
        "current_wave": rollout.current_wave,
        "waves": len(rollout.waves),
        "sites_activated": done,
        "sites": len(rollout.sites),
        "updated_at": rollout.updated_at,
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class WaveHealth:
    """One rollout wave's live quality against the baseline its sites had before it."""

    wave: int
    status: str
    sites: int
    baseline_mae: float | None
    """The mean MAE the wave's sites had on the baseline model (None before any report)."""
    live_mae: float | None
    """The mean MAE the wave's sites report on the new model (None before any report)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the wave's health as plain JSON."""
        return asdict(self)


def wave_health(rollout: Rollout) -> list[WaveHealth]:
    """Return each wave's mean baseline and live MAE over the sites that reported them."""
    health = []
    for wave in rollout.waves:
        members = [s for s in rollout.sites if s.wave == wave.wave]
        baseline = [s.baseline_mae for s in members if s.baseline_mae is not None]
        live = [s.live_mae for s in members if s.live_mae is not None]
        health.append(
            WaveHealth(
                wave=wave.wave,
                status=wave.status,
                sites=len(members),
                baseline_mae=round(statistics.fmean(baseline), 5) if baseline else None,
                live_mae=round(statistics.fmean(live), 5) if live else None,
            )
        )
    return health


def decisions_by_risk_for_version(db: sqlite_utils.Database, version: int) -> dict[str, int]:
    """Return how many decisions `version` made at the sites, by risk level (all time)."""
    rows = db.execute(
        "SELECT risk, COUNT(DISTINCT decision_id) FROM decision_reports "
        "WHERE model_version = ? GROUP BY risk ORDER BY risk",
        (version,),
    )
    return {str(risk): int(count) for risk, count in rows}
