"""Rollouts, their waves and their sites in the control plane's database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from control_plane.rollout.plan import RolloutPlan
from control_plane.state.database import Writer

ACTIVE_STATUSES = ("running", "paused")
FINAL_STATUSES = ("completed", "rolled_back", "aborted")


@dataclass(kw_only=True, slots=True, frozen=True)
class SiteProgress:
    """One site's part in a rollout."""

    site: str
    wave: int
    status: str
    baseline_mae: float | None
    live_mae: float | None
    detail: str
    offered_at: float | None
    updated_at: float


@dataclass(kw_only=True, slots=True, frozen=True)
class WaveProgress:
    """One wave of a rollout."""

    wave: int
    status: str
    started_at: float | None
    bake_until: float | None
    verdict: str


@dataclass(kw_only=True, slots=True, frozen=True)
class Rollout:
    """A rollout with its plan, waves and sites."""

    id: int
    version: int
    baseline_version: int | None
    status: str
    reason: str
    plan: RolloutPlan
    gate_report: dict[str, Any] | None
    created_by: str
    created_at: float
    updated_at: float
    current_wave: int
    waves: list[WaveProgress] = field(default_factory=list)
    sites: list[SiteProgress] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "version": self.version,
            "baseline_version": self.baseline_version,
            "status": self.status,
            "reason": self.reason,
            "plan": self.plan.to_dict(),
            "gate_report": self.gate_report,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "current_wave": self.current_wave,
            "waves": [_slots(w) for w in self.waves],
            "sites": [_slots(s) for s in self.sites],
        }


def _slots(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


class RolloutStore:
    """Read and change rollouts; every change is one transaction."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def create(
        self,
        *,
        version: int,
        baseline_version: int | None,
        plan: RolloutPlan,
        waves: list[list[str]],
        created_by: str,
        gate_report: dict[str, Any] | None,
        now: float,
    ) -> int:
        """Insert a running rollout with its waves and sites; return its id."""
        with self.writer.transaction() as db:
            cursor = db.execute(
                "INSERT INTO rollouts (version, baseline_version, status, plan, gate_report, "
                "created_by, created_at, updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    version,
                    baseline_version,
                    json.dumps(plan.to_dict()),
                    json.dumps(gate_report) if gate_report else None,
                    created_by,
                    now,
                    now,
                ),
            )
            rollout_id = int(cursor.lastrowid or 0)
            for index, sites in enumerate(waves):
                db.execute(
                    "INSERT INTO rollout_waves (rollout_id, wave, status) VALUES (?, ?, 'pending')",
                    (rollout_id, index),
                )
                db.conn.executemany(
                    "INSERT INTO rollout_sites (rollout_id, site, wave, status, updated_at) "
                    "VALUES (?, ?, ?, 'pending', ?)",
                    [(rollout_id, site, index, now) for site in sites],
                )
        return rollout_id

    def get(self, rollout_id: int) -> Rollout | None:
        """Return one rollout with its waves and sites."""
        db = self.writer.db
        row = db.execute(
            "SELECT id, version, baseline_version, status, reason, plan, gate_report, created_by, "
            "created_at, updated_at, current_wave FROM rollouts WHERE id = ?",
            (rollout_id,),
        ).fetchone()
        if row is None:
            return None
        waves = [
            WaveProgress(wave=r[0], status=r[1], started_at=r[2], bake_until=r[3], verdict=r[4])
            for r in db.execute(
                "SELECT wave, status, started_at, bake_until, verdict FROM rollout_waves "
                "WHERE rollout_id = ? ORDER BY wave",
                (rollout_id,),
            )
        ]
        sites = [
            SiteProgress(
                site=r[0],
                wave=r[1],
                status=r[2],
                baseline_mae=r[3],
                live_mae=r[4],
                detail=r[5],
                offered_at=r[6],
                updated_at=r[7],
            )
            for r in db.execute(
                "SELECT site, wave, status, baseline_mae, live_mae, detail, offered_at, "
                "updated_at FROM rollout_sites WHERE rollout_id = ? ORDER BY wave, site",
                (rollout_id,),
            )
        ]
        return Rollout(
            id=row[0],
            version=row[1],
            baseline_version=row[2],
            status=row[3],
            reason=row[4],
            plan=RolloutPlan.from_dict(json.loads(row[5])),
            gate_report=json.loads(row[6]) if row[6] else None,
            created_by=row[7],
            created_at=row[8],
            updated_at=row[9],
            current_wave=row[10],
            waves=waves,
            sites=sites,
        )

    def ids(self, *, statuses: tuple[str, ...] | None = None) -> list[int]:
        """Return rollout ids, oldest first, optionally only those in some statuses."""
        if statuses is None:
            rows = self.writer.db.execute("SELECT id FROM rollouts ORDER BY id")
        else:
            marks = ",".join("?" for _ in statuses)
            rows = self.writer.db.execute(
                f"SELECT id FROM rollouts WHERE status IN ({marks}) ORDER BY id",  # noqa: S608
                statuses,
            )
        return [int(r[0]) for r in rows]

    def changes_since(self, since: float) -> int:
        """Return how many rollouts started, plus how many were rolled back, since `since`."""
        row = self.writer.db.execute(
            "SELECT (SELECT COUNT(*) FROM rollouts WHERE created_at >= ?) + "
            "(SELECT COUNT(*) FROM rollouts WHERE status IN ('rolled_back', 'aborted') "
            "AND updated_at >= ?)",
            (since, since),
        ).fetchone()
        return int(row[0])

    def set_status(self, rollout_id: int, status: str, *, reason: str, now: float) -> None:
        """Change a rollout's status."""
        with self.writer.transaction() as db:
            db.execute(
                "UPDATE rollouts SET status = ?, reason = ?, updated_at = ? WHERE id = ?",
                (status, reason, now, rollout_id),
            )

    def set_wave(
        self,
        rollout_id: int,
        wave: int,
        *,
        status: str,
        now: float,
        bake_until: float | None = None,
        verdict: str = "",
    ) -> None:
        """Change a wave's status (stamping when it started)."""
        with self.writer.transaction() as db:
            db.execute(
                "UPDATE rollout_waves SET status = ?, started_at = coalesce(started_at, ?), "
                "bake_until = coalesce(?, bake_until), verdict = ? "
                "WHERE rollout_id = ? AND wave = ?",
                (status, now, bake_until, verdict, rollout_id, wave),
            )
            db.execute(
                "UPDATE rollouts SET current_wave = ?, updated_at = ? WHERE id = ?",
                (wave, now, rollout_id),
            )

    def set_site(
        self,
        rollout_id: int,
        site: str,
        *,
        status: str,
        now: float,
        detail: str = "",
        baseline_mae: float | None = None,
        live_mae: float | None = None,
        offered: bool = False,
    ) -> None:
        """Change a site's status in a rollout (keeping values not given)."""
        with self.writer.transaction() as db:
            db.execute(
                "UPDATE rollout_sites SET status = ?, detail = ?, updated_at = ?, "
                "baseline_mae = coalesce(?, baseline_mae), live_mae = coalesce(?, live_mae), "
                "offered_at = CASE WHEN ? THEN ? ELSE offered_at END "
                "WHERE rollout_id = ? AND site = ?",
                (status, detail, now, baseline_mae, live_mae, offered, now, rollout_id, site),
            )
