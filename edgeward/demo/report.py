"""The headless demo's report: what happened, counted from each component's own records.

Message accounting has two halves. MQTT: every message the broker acknowledged to a
simulator (or to the story) must be in the site's store, as a reading or as a quarantined
record; the difference is `messages_lost.mqtt`. Control link: every decision a site
journaled must have reached the control plane once the agents' outboxes are drained; the
difference is `messages_lost.decision_reports`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.simulator.run_options import PublishReport


@dataclass(kw_only=True, slots=True, frozen=True)
class SiteCounts:
    """A site's store counters (from `edgeward agent status`)."""

    ingested: int
    quarantined: int
    duplicates: int
    quarantined_by_reason: dict[str, int]

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> SiteCounts:
        """Read the counters of an `agent status --json` report."""
        return cls(
            ingested=int(status["records_ingested"]),
            quarantined=int(status["quarantined"]),
            duplicates=int(status["duplicates"]),
            quarantined_by_reason=dict(status["quarantined_by_reason"]),
        )


def mqtt_losses(
    *,
    before: SiteCounts,
    after: SiteCounts,
    published: PublishReport | None,
    story_readings: int,
) -> dict[str, int]:
    """Return one site's acknowledged messages, what its store took in, and the difference.

    A message is lost when it is neither stored nor quarantined. A good reading can rightly
    end up in quarantine: the story's overheating reading and the simulator's reading of the
    same cell can fall on the same millisecond with different values, and the store keeps the
    first and quarantines the second as a conflicting duplicate. That is counted apart
    (`good_quarantined`), not as a loss.
    """
    good = (published.readings if published else 0) + story_readings
    bad = published.bad if published else 0
    stored = after.ingested - before.ingested
    quarantined = after.quarantined - before.quarantined
    return {
        "acknowledged_readings": good,
        "acknowledged_bad": bad,
        "unacknowledged": published.unacknowledged if published else 0,
        "stored": stored,
        "quarantined": quarantined,
        "good_quarantined": max(0, quarantined - bad),
        "lost": max(0, good + bad - stored - quarantined),
    }


def journaled_decisions(data_dir: Path) -> dict[str, Any]:
    """Return a site's decisions by level and status, and its undelivered outbox messages."""
    with sqlite3.connect(f"file:{data_dir / 'agent.db'}?mode=ro", uri=True) as conn:
        by_level = dict(conn.execute("SELECT level, COUNT(*) FROM decisions GROUP BY level"))
        by_status = dict(conn.execute("SELECT status, COUNT(*) FROM decisions GROUP BY status"))
        ids = {row[0] for row in conn.execute("SELECT id FROM decisions")}
        outbox = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    return {"by_level": by_level, "by_status": by_status, "ids": ids, "outbox": outbox}


def reported_decision_ids(control_db: Path) -> set[str]:
    """Return the ids of the agents' decisions the control plane has a report of."""
    with sqlite3.connect(f"file:{control_db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT decision_id FROM decision_reports WHERE site != 'control-plane'"
        )
        return {row[0] for row in rows}


def unreported_outcomes(data_dir: Path, control_db: Path) -> list[dict[str, Any]]:
    """Return a site's decisions whose journal status the control plane never heard of.

    `missing` counts decisions with no report at all; this finds the subtler case, a
    decision whose last change (say `executed` after an approval) was never reported.
    """
    with sqlite3.connect(f"file:{data_dir / 'agent.db'}?mode=ro", uri=True) as site:
        journal = site.execute("SELECT id, status FROM decisions").fetchall()
    with sqlite3.connect(f"file:{control_db}?mode=ro", uri=True) as conn:
        heard: dict[str, set[str]] = {}
        for decision_id, outcome in conn.execute(
            "SELECT decision_id, outcome FROM decision_reports WHERE site != 'control-plane'"
        ):
            heard.setdefault(str(decision_id), set()).add(str(outcome))
    return [
        {
            "decision_id": str(decision_id),
            "status": str(status),
            "reported": sorted(heard[decision_id]),
        }
        for decision_id, status in journal
        if decision_id in heard and status not in heard[decision_id]
    ]


def training_runs(state_dir: Path) -> dict[str, Any]:
    """Return the aggregator's runs: by status and challenger, with their rounds."""
    runs = []
    for path in sorted((state_dir / "runs").glob("*.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    by_status: dict[str, int] = {}
    by_challenger: dict[str, int] = {}
    rounds = 0
    for run in runs:
        by_status[run["status"]] = by_status.get(run["status"], 0) + 1
        name = run.get("challenger") or "?"
        by_challenger[name] = by_challenger.get(name, 0) + 1
        rounds += int((run.get("metrics") or {}).get("rounds", 0) or 0)
    return {
        "runs": len(runs),
        "by_status": by_status,
        "challengers": by_challenger,
        "rounds": rounds,
        "details": [
            {
                "run_id": run["run_id"],
                "challenger": run.get("challenger"),
                "status": run["status"],
                "detail": run.get("detail", "")[:200],
                "sites": run.get("sites", []),
                "finished_at": run.get("finished_at"),
            }
            for run in sorted(runs, key=lambda r: float(r.get("finished_at") or 0))
        ],
    }


def rollout_outcomes(rollouts: list[dict[str, Any]], started_at: float) -> dict[str, Any]:
    """Split the rollouts into promotions and automatic rollbacks, with reasons and times."""
    promotions = []
    rollbacks = []
    other = []
    for rollout in sorted(rollouts, key=lambda r: int(r["id"])):
        entry = {
            "rollout_id": rollout["id"],
            "version": rollout["version"],
            "from_version": rollout["baseline_version"],
            "started_at_s": round(float(rollout["created_at"]) - started_at, 1),
            "ended_at_s": round(float(rollout["updated_at"]) - started_at, 1),
            "created_by": rollout["created_by"],
            "waves": len(rollout["waves"]),
            "reason": rollout["reason"],
        }
        if rollout["status"] == "completed":
            promotions.append(entry)
        elif rollout["status"] == "rolled_back":
            touched = [s["site"] for s in rollout["sites"] if s["status"] != "pending"]
            rollbacks.append({**entry, "sites_that_ran_it": touched})
        else:
            other.append({**entry, "status": rollout["status"]})
    return {"promotions": promotions, "automatic_rollbacks": rollbacks, "unfinished": other}
