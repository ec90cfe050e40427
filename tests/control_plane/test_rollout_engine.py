"""The rollout state machine with a fake clock and a recording courier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from control_plane.registry import open_registry
from control_plane.rollout import RolloutEngine, RolloutError, RolloutPlan, RolloutStore
from control_plane.state import AuditLog, FleetStore, Writer, open_control_db
from tests.control_plane.samples import make_bundle
from tests.fakes.clock import FakeClock

SITES = [f"site-{i}" for i in range(10)]
PLAN = RolloutPlan(canary_fraction=0.1, waves=(0.5, 1.0), bake_s=60, min_samples=5)


class Courier:
    """Records what the engine sends; `reachable` decides what a send returns."""

    def __init__(self) -> None:
        self.offers: list[tuple[str, int, int]] = []
        self.rollbacks: list[tuple[str, int, int | None]] = []

    def offer(self, site: str, rollout_id: int, version: int) -> bool:
        self.offers.append((site, rollout_id, version))
        return True

    def order_rollback(
        self, site: str, rollout_id: int, from_version: int, to_version: int | None, reason: str
    ) -> bool:
        self.rollbacks.append((site, from_version, to_version))
        return True


class Plane:
    """An engine over a real control database and registry, with two registered models."""

    def __init__(self, root: Path) -> None:
        self.clock = FakeClock(1_000_000.0)
        self.writer = Writer(open_control_db(root))
        self.fleet = FleetStore(self.writer)
        self.registry = open_registry(root / "registry")
        for seed in (1, 2):
            self.registry.register(make_bundle(root / f"bundle-{seed}", seed))
        self.registry.set_alias("champion", 1, actor="test", reason="baseline")
        self.audit = AuditLog(self.writer)
        self.courier = Courier()
        self.engine = self.new_engine()
        for site in SITES:
            self.report(site, version=1, live_mae=0.10)

    def new_engine(self) -> RolloutEngine:
        return RolloutEngine(
            RolloutStore(self.writer),
            self.fleet,
            self.registry,
            self.audit,
            self.courier,
            clock=self.clock,
        )

    def report(self, site: str, *, version: int, live_mae: float, samples: int = 50) -> None:
        self.fleet.heartbeat(
            site=site,
            active_version=version,
            health={},
            quality={"live_mae": live_mae, "samples": samples},
            now=self.clock(),
        )

    def activate_offered(self, rollout_id: int, *, live_mae: float) -> list[str]:
        offered = sorted({site for site, rid, _ in self.courier.offers if rid == rollout_id})
        fresh = [s for s in offered if self.site_status(rollout_id, s) == "offered"]
        for site in fresh:
            self.engine.activation_reported(
                site=site, rollout_id=rollout_id, version=2, status="activated", detail="ok"
            )
            self.report(site, version=2, live_mae=live_mae)
        return fresh

    def site_status(self, rollout_id: int, site: str) -> str:
        rollout = self.engine.store.get(rollout_id)
        assert rollout is not None
        return {s.site: s.status for s in rollout.sites}[site]

    def status(self, rollout_id: int) -> Any:
        rollout = self.engine.store.get(rollout_id)
        assert rollout is not None
        return rollout


@pytest.fixture
def plane(tmp_path: Path) -> Plane:
    return Plane(tmp_path)


def bake(plane: Plane) -> None:
    plane.engine.tick()  # all activated: start baking
    plane.clock.advance(61)
    plane.engine.tick()  # judge


def test_a_good_model_goes_canary_then_waves_then_champion(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="operator", plan=PLAN)
    plane.engine.tick()
    waves_seen = []
    for _ in range(3):
        waves_seen.append(plane.activate_offered(rollout_id, live_mae=0.095))
        bake(plane)
        plane.engine.tick()  # offer the next wave
    assert [len(w) for w in waves_seen] == [1, 4, 5]
    assert plane.status(rollout_id).status == "completed"
    champion = plane.registry.alias("champion")
    assert champion is not None
    assert champion.version == 2
    assert plane.courier.rollbacks == []
    whole, _ = plane.audit.verify()
    assert whole


def test_a_live_regression_in_the_canary_rolls_back_without_anyone(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.engine.tick()
    (canary,) = plane.activate_offered(rollout_id, live_mae=0.30)
    bake(plane)
    rollout = plane.status(rollout_id)
    assert rollout.status == "rolled_back"
    assert (
        "live regression in wave 0: forecast MAE 0.3000 on the new model vs 0.1000"
        in rollout.reason
    )
    assert plane.courier.rollbacks == [(canary, 2, 1)]
    champion = plane.registry.alias("champion")
    assert champion is not None
    assert champion.version == 1, "the champion never moved"
    assert len({site for site, _, _ in plane.courier.offers}) == 1, "no wave after the canary"


def test_a_quiet_canary_waits_out_the_extension_then_passes_saying_why(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.engine.tick()
    (canary,) = plane.activate_offered(rollout_id, live_mae=0.5)
    plane.report(canary, version=2, live_mae=0.5, samples=PLAN.min_samples - 1)
    bake(plane)
    assert plane.status(rollout_id).waves[0].status == "baking", "waits for live evidence"
    plane.clock.advance(PLAN.max_bake_extension_s + 1)
    plane.engine.tick()
    wave = plane.status(rollout_id).waves[0]
    assert wave.status == "passed"
    assert wave.verdict == (
        f"passed on activation alone: fewer than {PLAN.min_samples} live samples on "
        f"{canary} after the bake and its extension"
    )


def test_an_activation_failure_rolls_back(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.engine.tick()
    (site, _, _) = plane.courier.offers[0]
    plane.engine.activation_reported(
        site=site,
        rollout_id=rollout_id,
        version=2,
        status="failed",
        detail="smoke test: non-finite",
    )
    plane.engine.tick()
    rollout = plane.status(rollout_id)
    assert rollout.status == "rolled_back"
    assert "smoke test: non-finite" in rollout.reason


def test_silence_past_the_activation_timeout_rolls_back(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.engine.tick()
    plane.clock.advance(PLAN.activation_timeout_s + 1)
    plane.engine.tick()
    assert "did not activate within 180 s" in plane.status(rollout_id).reason


def test_offers_are_resent_until_answered(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.engine.tick()
    plane.clock.advance(PLAN.offer_resend_s + 1)
    plane.engine.tick()
    assert len([o for o in plane.courier.offers if o[1] == rollout_id]) == 2


def test_the_canary_is_offered_as_the_rollout_starts(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    assert [offer[1:] for offer in plane.courier.offers] == [(rollout_id, 2)]
    assert plane.status(rollout_id).waves[0].status == "offering"


def test_pause_holds_and_resume_continues(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.activate_offered(rollout_id, live_mae=0.1)
    plane.engine.pause(rollout_id, actor="operator", reason="maintenance window")
    bake(plane)
    plane.engine.tick()
    assert len(plane.courier.offers) == 1
    assert plane.status(rollout_id).waves[0].status == "offering"
    plane.engine.resume(rollout_id, actor="operator")
    bake(plane)
    plane.engine.tick()
    assert len(plane.courier.offers) > 1
    with pytest.raises(RolloutError, match="is running; this needs it to be paused"):
        plane.engine.resume(rollout_id, actor="operator")


def test_only_one_rollout_at_a_time_and_abort(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    with pytest.raises(RolloutError, match="another rollout is in progress"):
        plane.engine.start(2, actor="auto")
    plane.engine.tick()
    plane.activate_offered(rollout_id, live_mae=0.1)
    plane.engine.abort(rollout_id, actor="operator", reason="change freeze")
    assert plane.status(rollout_id).status == "aborted"
    assert len(plane.courier.rollbacks) == 1


def test_a_restarted_control_plane_resumes_the_same_rollout(plane: Plane) -> None:
    rollout_id = plane.engine.start(2, actor="auto", plan=PLAN)
    plane.engine.tick()
    plane.activate_offered(rollout_id, live_mae=0.095)
    plane.engine.tick()
    plane.engine = plane.new_engine()  # a new process, the same database
    plane.clock.advance(61)
    plane.engine.tick()
    assert plane.status(rollout_id).waves[0].status == "passed"
    plane.engine.tick()
    assert len({s for s, _, _ in plane.courier.offers}) == 5, "wave 1 offered after restart"


def test_rolling_back_a_completed_rollout_moves_the_champion_back(plane: Plane) -> None:
    rollout_id = plane.engine.start(
        2,
        actor="operator",
        plan=RolloutPlan(canary_fraction=1.0, waves=(1.0,), bake_s=0, min_samples=1),
    )
    plane.engine.tick()
    plane.activate_offered(rollout_id, live_mae=0.1)
    plane.engine.tick()
    plane.engine.tick()
    assert plane.status(rollout_id).status == "completed"
    plane.engine.roll_back(rollout_id, actor="operator", reason="customer complaint")
    champion = plane.registry.alias("champion")
    assert champion is not None
    assert champion.version == 1
    assert len(plane.courier.rollbacks) == len(SITES)
