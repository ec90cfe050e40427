"""The headless report's guarantees: each one can fail, and says why."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from edge_agent.store import AgentStore
from edgeward.demo.chaos import FaultKind
from edgeward.demo.guarantees import (
    FAULT_KINDS,
    decisions_ran_twice,
    judge,
    rollouts_ended,
    working_model,
)
from edgeward.demo.report import unreported_outcomes


def _journal(site_dir: Path, rows: list[tuple[str, str, str, float, str]]) -> None:
    """Write decisions (id, action, target, reading time, status) into a real agent store."""
    store = AgentStore.open(site_dir)
    try:
        with store.transaction() as conn:
            for decision_id, action, target, at, status in rows:
                conn.execute(
                    "INSERT INTO decisions (id, created_at, action, target, level, status, "
                    "decision, screening, updated_at) VALUES (?, ?, ?, ?, 'low', ?, ?, '{}', ?)",
                    (decision_id, time.time(), action, target, status,
                     json.dumps({"created_at": at}), time.time()),
                )  # fmt: skip
    finally:
        store.close()


def test_decisions_each_run_once_hold(tmp_path: Path) -> None:
    _journal(
        tmp_path,
        [
            ("a", "raise_alarm", "cell-1", 100.0, "executed"),
            ("b", "raise_alarm", "cell-1", 101.0, "notified"),
            ("c", "restart_node", "cell-2", 100.0, "denied"),
        ],
    )
    check = decisions_ran_twice(tmp_path, Counter({"a": 2, "b": 1}))
    assert check["ran"] == 2
    assert check["same_event_ran_twice"] == []
    assert check["actions_without_a_run_in_the_journal"] == []
    assert check["actions_redelivered"] == 1, "a redelivery is counted, not held against it"


def test_the_same_event_run_under_two_ids_fails(tmp_path: Path) -> None:
    _journal(
        tmp_path,
        [
            ("a", "raise_alarm", "cell-1", 100.0, "executed"),
            ("b", "raise_alarm", "cell-1", 100.0, "executed"),
        ],
    )
    check = decisions_ran_twice(tmp_path, Counter())
    assert check["same_event_ran_twice"] == ["raise_alarm on cell-1 at 100.0"]


def test_an_action_seen_for_a_decision_that_did_not_run_fails(tmp_path: Path) -> None:
    _journal(tmp_path, [("c", "restart_node", "cell-2", 100.0, "denied")])
    check = decisions_ran_twice(tmp_path, Counter({"c": 1, "ghost": 1}))
    assert check["actions_without_a_run_in_the_journal"] == ["c", "ghost"]


def test_a_site_without_an_active_model_has_no_working_model(tmp_path: Path) -> None:
    AgentStore.open(tmp_path).close()
    verdict = working_model(tmp_path)
    assert verdict["ok"] is False
    assert verdict["detail"] == "no active model"


def test_a_damaged_model_state_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "state.json").write_text('{"active": 3}')
    verdict = working_model(tmp_path)
    assert verdict["ok"] is False
    assert verdict["detail"]


def _rollout(rollout_id: int, status: str) -> dict[str, Any]:
    return {"id": rollout_id, "version": rollout_id, "status": status}


def test_rollouts_must_all_be_final() -> None:
    assert rollouts_ended([_rollout(1, "completed"), _rollout(2, "rolled_back")])["ok"]
    check = rollouts_ended([_rollout(1, "completed"), _rollout(2, "running")])
    assert not check["ok"]
    assert check["not_ended"] == [{"rollout_id": 2, "version": 2, "status": "running"}]


def _judge(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "messages_lost": 0,
        "decisions": {"site-1": {"same_event_ran_twice": [],
                                 "actions_without_a_run_in_the_journal": []}},
        "outcomes_not_reported": {},
        "models": {"site-1": {"ok": True}},
        "champion": 1,
        "rollouts": [_rollout(1, "completed")],
        "faults": [{"kind": kind, "recovered": True} for kind in FAULT_KINDS],
    }  # fmt: skip
    return judge(**{**arguments, **overrides})


def test_all_hold_only_when_every_guarantee_holds() -> None:
    assert _judge()["all_hold"]
    assert not _judge(messages_lost=1)["all_hold"]
    assert not _judge(models={"site-1": {"ok": False}})["all_hold"]
    assert not _judge(rollouts=[_rollout(1, "paused")])["all_hold"]
    assert not _judge(faults=[{"kind": "link_drop", "recovered": False}])["all_hold"]
    twice = {"site-1": {"same_event_ran_twice": ["x"], "actions_without_a_run_in_the_journal": []}}
    assert not _judge(decisions=twice)["all_hold"]
    assert not _judge(outcomes_not_reported={"site-1": [{"id": "d-1"}]})["all_hold"]


def test_without_a_champion_the_model_guarantee_does_not_apply() -> None:
    verdict = _judge(champion=None, models={"site-1": {"ok": False}})
    assert verdict["every_site_has_a_working_model"]["ok"] is None
    assert verdict["all_hold"]


def test_without_chaos_there_is_no_fault_guarantee() -> None:
    assert "every_fault_recovered" not in _judge(faults=None)


def test_a_chaos_run_that_missed_a_kind_of_fault_fails() -> None:
    verdict = _judge(faults=[{"kind": "agent_kill", "recovered": True}])
    assert verdict["every_kind_of_fault_injected"]["missing"] == [
        "aggregator_kill", "control_plane_kill", "disk_full", "link_drop",
    ]  # fmt: skip
    assert not verdict["all_hold"]
    assert not _judge(faults=[])["all_hold"], "no fault at all proves nothing"


def test_the_report_names_every_kind_the_injector_has() -> None:
    assert set(FAULT_KINDS) == {kind.value for kind in FaultKind}


def test_a_decision_whose_last_change_never_reached_the_control_plane_is_found(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site-1"
    _journal(
        site,
        [
            ("a", "restart_node", "cell-1", 100.0, "executed"),
            ("b", "raise_alarm", "cell-2", 101.0, "executed"),
            ("c", "raise_alarm", "cell-3", 102.0, "held"),
        ],
    )
    control_db = tmp_path / "control.db"
    with sqlite3.connect(control_db) as conn:
        conn.execute("CREATE TABLE decision_reports (decision_id TEXT, outcome TEXT, site TEXT)")
        conn.executemany(
            "INSERT INTO decision_reports VALUES (?, ?, 'site-1')",
            [("a", "held"), ("a", "approved"), ("b", "executed")],
        )
    assert unreported_outcomes(site, control_db) == [
        {"decision_id": "a", "status": "executed", "reported": ["approved", "held"]}
    ], "c has no report at all: that is `missing`, counted elsewhere"
