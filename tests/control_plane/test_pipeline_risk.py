"""The control plane screens its own promotions and rollbacks before the rollout engine acts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certs import init_pki, issue_device
from control_plane.pipeline_risk import promotion_decision
from control_plane.promotion import GateReport
from control_plane.promotion.gate import RuleResult
from control_plane.rollout import RolloutPlan
from control_plane.service import ControlPlane
from control_plane.settings import ControlSettings, GateSettings, PipelineRiskSettings
from edgeward.bundles import write_bundle
from edgeward.errors import CertificateError
from edgeward.risk import PIPELINE_SITE, Action
from edgeward.risk.screening import RiskScreener
from tests.control_plane.samples import sample_arrays, sample_fields

FLEET = [f"site-{i}" for i in range(6)]
# A lenient gate: these tests are about the screening that follows a pass.
GATE = GateSettings(
    min_sites=2, min_improvement=-1.0, min_win_share=0.0, significance=1.0, mode="auto"
)


def evaluated_on(sites: int, *, quarantined: int = 0) -> dict[str, Any]:
    """Return manifest fields of a challenger evaluated on `sites` sites, with no champion."""
    names = FLEET[:sites]
    return {
        "metrics": {"per_site": {s: {"examples": 100, "challenger_mae": 0.1} for s in names}},
        "lineage": {
            "run_id": "run",
            "rounds": 3,
            "sites": {s: {"stored": 100, "quarantined": quarantined} for s in names},
        },
    }


def build_plane(root: Path, risk: PipelineRiskSettings | None = None) -> ControlPlane:
    init_pki(root / "pki", control_plane_address="tcp://127.0.0.1:9")
    plane = ControlPlane(
        ControlSettings(
            state_dir=root / "state",
            registry_dir=root / "registry",
            pki_dir=root / "pki",
            bind="tcp://127.0.0.1:*",
            gate=GATE,
            risk=risk or PipelineRiskSettings(),
        )
    )
    for site in FLEET:
        plane.fleet.hello(
            site=site,
            agent_version="test",
            active_version=None,
            previous_version=None,
            schema_hash="f" * 64,
        )
    return plane


def register(plane: ControlPlane, root: Path, seed: int, fields: dict[str, Any]) -> int:
    bundle = root / f"bundle-{seed}"
    write_bundle(bundle, arrays=sample_arrays(seed), **sample_fields(seed, **fields))
    return plane.registry.register(bundle).version


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    built = build_plane(tmp_path)
    yield built
    built.server.stop()


def rollouts(plane: ControlPlane) -> list[int]:
    return plane.engine.store.ids()


def audit_actions(plane: ControlPlane) -> list[str]:
    return [entry.action for entry in plane.audit.entries()]


def test_a_challenger_evaluated_on_enough_sites_rolls_out_without_waiting(
    plane: ControlPlane, tmp_path: Path
) -> None:
    version = register(plane, tmp_path, 1, evaluated_on(4))
    assert plane.gate(version).passed
    assert len(rollouts(plane)) == 1
    assert plane.approvals.pending() == []
    assert "pipeline.promote_model.medium" in audit_actions(plane)


def test_a_challenger_evaluated_on_few_sites_waits_and_approval_starts_its_rollout(
    plane: ControlPlane, tmp_path: Path
) -> None:
    version = register(plane, tmp_path, 1, evaluated_on(2))
    assert plane.gate(version).passed
    assert rollouts(plane) == []
    [held] = plane.approvals.pending()
    assert held.site == PIPELINE_SITE
    assert held.risk == "high"
    assert held.action == Action.PROMOTE_MODEL.value
    assert any("fewer than 3 sites" in r for r in held.screening["reasons"])

    plane.approvals.approve(held.decision_id, actor="ana", comment="two sites are all we have")
    plane._approvals_tick()

    [rollout_id] = rollouts(plane)
    rollout = plane.engine.store.get(rollout_id)
    assert rollout is not None
    assert rollout.version == version
    assert rollout.created_by.startswith("ana")
    settled = plane.approvals.get(held.decision_id)
    assert settled is not None
    assert settled.verdict_delivered_at is not None
    assert settled.verdict_detail == ""
    plane._approvals_tick()  # a settled verdict is not acted on twice
    assert len(rollouts(plane)) == 1


def test_a_denied_promotion_never_rolls_out(plane: ControlPlane, tmp_path: Path) -> None:
    version = register(plane, tmp_path, 1, evaluated_on(2))
    plane.gate(version)
    [held] = plane.approvals.pending()
    plane.approvals.deny(held.decision_id, actor="ana", comment="wait for more sites")
    plane._approvals_tick()
    assert rollouts(plane) == []
    settled = plane.approvals.get(held.decision_id)
    assert settled is not None
    assert settled.verdict_delivered_at is not None


def test_an_approval_that_cannot_start_says_why(plane: ControlPlane, tmp_path: Path) -> None:
    held_version = register(plane, tmp_path, 1, evaluated_on(2))
    plane.gate(held_version)
    [held] = plane.approvals.pending()
    other = register(plane, tmp_path, 2, evaluated_on(4))
    plane.gate(other)  # rolls out at once, so the held one cannot start next to it
    plane.approvals.approve(held.decision_id, actor="ana", comment="go")
    plane._approvals_tick()
    settled = plane.approvals.get(held.decision_id)
    assert settled is not None
    assert "another rollout is in progress" in settled.verdict_detail
    assert len(rollouts(plane)) == 1


def test_screening_can_be_turned_off(tmp_path: Path) -> None:
    plane = build_plane(tmp_path, PipelineRiskSettings(screen_promotions=False))
    try:
        version = register(plane, tmp_path, 1, evaluated_on(2))
        plane.gate(version)
        assert len(rollouts(plane)) == 1
        assert plane.approvals.pending() == []
    finally:
        plane.server.stop()


def test_a_rollback_is_screened_and_recorded_but_runs(plane: ControlPlane, tmp_path: Path) -> None:
    version = register(plane, tmp_path, 1, evaluated_on(4))
    plane.gate(version)
    [rollout_id] = rollouts(plane)
    plane.engine.roll_back(rollout_id, actor="ana", reason="test")
    rollout = plane.engine.store.get(rollout_id)
    assert rollout is not None
    assert rollout.status == "rolled_back"
    [entry] = plane.audit.entries(action="pipeline.rollback_model.low")
    assert entry.detail["decision"]["parameters"]["rollout"] == rollout_id


def test_a_flapping_pipeline_holds_the_next_promotion(plane: ControlPlane, tmp_path: Path) -> None:
    for seed in (1, 2):
        plane.gate(register(plane, tmp_path, seed, evaluated_on(4)))
        [*_, rollout_id] = rollouts(plane)
        plane.engine.roll_back(rollout_id, actor="ana", reason="regressed")
    # two promotions and two rollbacks lately: the third promotion waits for a person
    plane.gate(register(plane, tmp_path, 3, evaluated_on(4)))
    [held] = plane.approvals.pending()
    assert any("flaps" in r for r in held.screening["reasons"])
    assert len(rollouts(plane)) == 2


def report(rules: dict[str, float | None], *, version: int = 7) -> GateReport:
    return GateReport(
        challenger_version=version,
        champion_version=6,
        passed=True,
        rules=[
            RuleResult(rule=name, passed=True, value=value, threshold=None, detail="")
            for name, value in rules.items()
        ],
    )


@pytest.mark.parametrize(
    ("rules", "canary", "level"),
    [
        ({"min_sites": 5, "training_quarantine_rate": 0.01, "win_share": 0.8}, 0.1, "medium"),
        ({"min_sites": 2, "training_quarantine_rate": 0.01, "win_share": 0.8}, 0.1, "high"),
        ({"min_sites": 5, "training_quarantine_rate": 0.3, "win_share": 0.8}, 0.1, "high"),
        ({"min_sites": 5, "training_quarantine_rate": 0.01, "win_share": 0.4}, 0.1, "high"),
        ({"min_sites": 5, "training_quarantine_rate": 0.01, "win_share": 0.8}, 1.0, "high"),
    ],
    ids=["sound", "few-sites", "quarantined-data", "unsure-gate", "no-canary"],
)
def test_promotion_levels(rules: dict[str, float | None], canary: float, level: str) -> None:
    plan = RolloutPlan(canary_fraction=canary)
    decision = promotion_decision(
        report=report(rules), plan=plan, fleet_sites=10, recent_changes=0, now=1.0e9
    )
    assert decision.parameters["canary_sites"] == max(1, math.ceil(canary * 10))
    assert RiskScreener().screen(decision).level == level


def test_no_device_can_take_the_pipelines_site_name(tmp_path: Path) -> None:
    pki = init_pki(tmp_path / "pki", control_plane_address="tcp://127.0.0.1:9")
    with pytest.raises(CertificateError, match="reserved"):
        issue_device(pki, PIPELINE_SITE, out=tmp_path / "device.bundle")
