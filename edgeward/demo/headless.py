"""Collect the headless demo's report from a run whose feeds have stopped."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from edgeward.demo.guarantees import decisions_ran_twice, judge, working_model
from edgeward.demo.report import (
    journaled_decisions,
    mqtt_losses,
    reported_decision_ids,
    rollout_outcomes,
    training_runs,
    unreported_outcomes,
)
from edgeward.demo.runner import DemoRun
from edgeward.errors import EdgewardError

DRAIN_TIMEOUT_S = 30.0
ERROR_LINE = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) .*$", re.MULTILINE)


def collect_report(run: DemoRun) -> dict[str, Any]:
    """Wait for stores and outboxes to drain, then count everything the report states."""
    if run.api is None:
        raise EdgewardError("the demo did not start; there is nothing to report")
    mqtt = _drained_mqtt(run)
    decisions = _drained_decisions(run)
    counts = run.api.get("/decisions/counts")
    every_rollout = run.api.get("/rollouts", limit=100)
    rollouts = rollout_outcomes(every_rollout, run.started_at)
    quarantined: dict[str, int] = {}
    ingested = 0
    for site in run.sites:
        status = run.site_status(site.name)
        ingested += int(status["records_ingested"])
        for reason, count in status["quarantined_by_reason"].items():
            quarantined[reason] = quarantined.get(reason, 0) + int(count)
    operator = run.operator.summary() if run.operator else {}
    approvals = counts["approvals_by_status"]
    story = run.story.state if run.story else None
    training = training_runs(run.layout.aggregator_state)
    lost_mqtt = sum(site["lost"] for site in mqtt.values())
    messages_lost = lost_mqtt + decisions["missing"]
    faults = _faults(run)
    return {
        "duration_s": round(time.time() - run.started_at, 1),
        "sites": len(run.sites),
        "messages_lost": messages_lost,
        "guarantees": judge(
            messages_lost=messages_lost,
            decisions=_decision_runs(run),
            outcomes_not_reported=decisions["outcomes_not_reported"],
            models={s.name: working_model(run.layout.site_dir(s.name)) for s in run.sites},
            champion=run.api.get("/overview")["champion"],
            rollouts=every_rollout,
            faults=faults["injected"] if faults else None,
        ),
        "faults": faults,
        "message_accounting": {"mqtt": mqtt, "decision_reports": decisions},
        "records_ingested": ingested,
        "quarantined_by_reason": dict(sorted(quarantined.items())),
        "training": {
            **training,
            "rounds": training["by_status"].get("completed", 0) * run.options.timings.rounds,
        },
        "models_registered": len(run.api.get("/models")),
        "promotions": rollouts["promotions"],
        "automatic_rollbacks": rollouts["automatic_rollbacks"],
        "unfinished_rollouts": rollouts["unfinished"],
        "degraded_challenger": (
            {"version": story.degraded_version, "submitted_at_s": _since(run, story.degraded_at)}
            if story
            else None
        ),
        "decisions_by_risk": counts["decisions_by_risk"],
        "decision_reports_by_outcome": counts["reports_by_outcome"],
        "approvals": {
            "approved": approvals.get("approved", 0),
            "denied": approvals.get("denied", 0),
            "expired": approvals.get("expired", 0),
            "pending": approvals.get("pending", 0),
            "by_status": approvals,
            "scripted_operator": operator,
        },
        "overheats_injected": story.overheats if story else 0,
        "timeline": [
            {"at_s": _since(run, at), "event": text} for at, text in (story.events if story else [])
        ],
        "errors": _errors(run),
    }


def _faults(run: DemoRun) -> dict[str, Any] | None:
    """Return the faults `--chaos` injected: counts by kind, and each with its evidence."""
    if run.chaos is None:
        return None
    return {
        "seed": run.chaos_timings.seed,
        "by_kind": run.chaos.counts(),
        "total": len(run.chaos.records),
        "injected": [record.to_dict(run.started_at) for record in run.chaos.records],
    }


def _decision_runs(run: DemoRun) -> dict[str, dict[str, Any]]:
    seen = run.actions.by_site() if run.actions is not None else {}
    return {
        site.name: decisions_ran_twice(
            run.layout.site_dir(site.name), seen.get(site.name, Counter())
        )
        for site in run.sites
    }


def _drained_mqtt(run: DemoRun) -> dict[str, dict[str, int]]:
    story_readings = _story_readings_per_site(run)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        accounts = {
            site.name: mqtt_losses(
                before=site.before or run.site_counts(site.name),
                after=run.site_counts(site.name),
                published=site.published[0] if site.published else None,
                story_readings=story_readings.get(site.name, 0),
            )
            for site in run.sites
        }
        if all(a["lost"] == 0 for a in accounts.values()) or time.monotonic() > deadline:
            return accounts
        time.sleep(0.5)


def _story_readings_per_site(run: DemoRun) -> dict[str, int]:
    if run.story is None:
        return {}
    acknowledged = run.story.state.overheats_acknowledged
    sites = run.layout.sites
    return {site: len(range(index, acknowledged, len(sites))) for index, site in enumerate(sites)}


def _drained_decisions(run: DemoRun) -> dict[str, Any]:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        journals = {
            site.name: journaled_decisions(run.layout.site_dir(site.name)) for site in run.sites
        }
        journaled = set().union(*(j["ids"] for j in journals.values()))
        reported = reported_decision_ids(run.layout.control_db)
        missing = journaled - reported
        outbox = sum(j["outbox"] for j in journals.values())
        # Agents re-send an outcome whose report could not be stored (a full disk) on their
        # next follow-up pass, so this waits for those as it waits for the outboxes.
        not_reported = {
            site.name: unreported
            for site in run.sites
            if (
                unreported := unreported_outcomes(
                    run.layout.site_dir(site.name), run.layout.control_db
                )
            )
        }
        drained = not missing and outbox == 0 and not not_reported
        if drained or time.monotonic() > deadline:
            by_level: dict[str, int] = {}
            for journal in journals.values():
                for level, count in journal["by_level"].items():
                    by_level[level] = by_level.get(level, 0) + count
            return {
                "journaled_at_sites": len(journaled),
                "reported_to_control_plane": len(journaled & reported),
                "missing": len(missing),
                "outbox_undelivered": outbox,
                "outcomes_not_reported": not_reported,
                "journaled_by_level": by_level,
            }
        time.sleep(0.5)


def _errors(run: DemoRun) -> list[str]:
    errors = [*run.errors, *run.died()]
    if run.operator is not None:
        errors += run.operator.errors
    if run.story is not None:
        errors += run.story.state.errors
    roles = [run.control, run.aggregator, *(site.agent for site in run.sites)]
    for role in roles:
        if role is None:
            continue
        whole = [m.group(0) for m in ERROR_LINE.finditer(role.log_text())]
        errors += [f"{role.name}: {line[:300]}" for line in whole[:5]]
    return errors


def _since(run: DemoRun, at: float | None) -> float | None:
    return None if at is None else round(at - run.started_at, 1)
