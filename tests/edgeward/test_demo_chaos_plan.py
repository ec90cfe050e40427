"""`--chaos`: the seeded fault plan, and the injector's begin-hold-end with fake handlers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from edgeward.demo.chaos import ROLE_TARGETS, ChaosInjector, Fault, FaultKind, FaultPlan
from edgeward.demo.options import ChaosTimings

SITES = ("site-1", "site-2", "site-3")
QUICK = ChaosTimings(gap_min_s=0.0, gap_max_s=0.0, down_min_s=0.0, down_max_s=0.0,
                     link_down_min_s=0.0, link_down_max_s=0.0, disk_full_s=0.0)  # fmt: skip


def test_every_round_holds_each_kind_once() -> None:
    plan = FaultPlan(ChaosTimings(seed=7), SITES)
    for _ in range(4):
        kinds = [plan.next().kind for _ in FaultKind]
        assert sorted(kinds) == sorted(FaultKind)


def test_the_same_seed_replays_the_same_faults_and_another_differs() -> None:
    def faults(seed: int) -> list[Fault]:
        plan = FaultPlan(ChaosTimings(seed=seed), SITES)
        return [plan.next() for _ in range(15)]

    assert faults(3) == faults(3)
    assert faults(3) != faults(4)


def test_targets_gaps_and_holds_follow_the_kind_and_the_timings() -> None:
    timings = ChaosTimings(
        seed=1, gap_min_s=2, gap_max_s=3, link_down_min_s=10, link_down_max_s=11,
        disk_full_s=9, down_min_s=1, down_max_s=2,
    )  # fmt: skip
    plan = FaultPlan(timings, SITES)
    for fault in (plan.next() for _ in range(50)):
        assert 2 <= fault.gap_s <= 3
        if fault.kind in ROLE_TARGETS:
            assert fault.target == ROLE_TARGETS[fault.kind]
            assert 1 <= fault.hold_s <= 2
        else:
            assert fault.target in SITES
        if fault.kind is FaultKind.LINK_DROP:
            assert 10 <= fault.hold_s <= 11
        if fault.kind is FaultKind.DISK_FULL:
            assert fault.hold_s == 9


def test_a_plan_needs_a_site() -> None:
    with pytest.raises(ValueError, match="at least one site"):
        FaultPlan(ChaosTimings(), ())


class RecordingHandler:
    """Keeps the order of begins and ends; can be told to fail either."""

    def __init__(self, calls: list[str], *, fail_begin: bool = False, fail_end: bool = False):
        self.calls = calls
        self.fail_begin = fail_begin
        self.fail_end = fail_end

    def begin(self, fault: Fault) -> dict[str, Any]:
        self.calls.append(f"begin {fault.kind.value} {fault.target}")
        if self.fail_begin:
            raise RuntimeError("no such process")
        return {"token": fault.target}

    def end(self, fault: Fault, begun: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"end {fault.kind.value} {begun.get('token')}")
        if self.fail_end:
            raise RuntimeError("did not come back")
        return {"ok": 1}


def _injector(calls: list[str], **failing: RecordingHandler) -> ChaosInjector:
    handlers = {kind: failing.get(kind.value, RecordingHandler(calls)) for kind in FaultKind}
    return ChaosInjector(plan=FaultPlan(QUICK, SITES), handlers=handlers)


def test_each_fault_is_begun_then_ended_and_recorded() -> None:
    calls: list[str] = []
    injector = _injector(calls)
    fault = Fault(kind=FaultKind.AGENT_KILL, target="site-2", gap_s=0, hold_s=0)
    record = injector.inject(fault)
    assert calls == ["begin agent_kill site-2", "end agent_kill site-2"]
    assert record.recovered
    assert record.evidence == {"ok": 1}
    assert injector.counts()["agent_kill"] == 1
    assert injector.counts()["link_drop"] == 0


def test_a_fault_that_cannot_begin_is_still_ended_and_counts_as_not_recovered() -> None:
    calls: list[str] = []
    injector = _injector(calls, disk_full=RecordingHandler(calls, fail_begin=True))
    record = injector.inject(Fault(kind=FaultKind.DISK_FULL, target="site-1", gap_s=0, hold_s=0))
    assert calls == ["begin disk_full site-1", "end disk_full None"]
    assert not record.recovered
    assert record.error is not None
    assert "no such process" in record.error


def test_a_role_that_does_not_come_back_is_not_recovered() -> None:
    calls: list[str] = []
    injector = _injector(calls, control_plane_kill=RecordingHandler(calls, fail_end=True))
    fault = Fault(kind=FaultKind.CONTROL_PLANE_KILL, target="control plane", gap_s=0, hold_s=0)
    record = injector.inject(fault)
    assert not record.recovered
    assert record.error == "end: did not come back"


def test_the_thread_waits_for_readiness_then_covers_every_kind_and_stops_with_all_ended() -> None:
    calls: list[str] = []
    ready = threading.Event()
    injector = ChaosInjector(
        plan=FaultPlan(QUICK, SITES),
        handlers={kind: RecordingHandler(calls) for kind in FaultKind},
        ready=ready.is_set,
    )
    injector.start()
    assert not injector.wait_covered(0.3)
    assert calls == [], "no fault before the fleet is ready"
    ready.set()
    assert injector.wait_covered(30)
    injector.stop()
    assert all(count >= 1 for count in injector.counts().values())
    begins = sum(call.startswith("begin") for call in calls)
    assert begins == sum(call.startswith("end") for call in calls), "every fault was ended"


def test_stop_cuts_a_long_hold_short_but_still_ends_the_fault() -> None:
    calls: list[str] = []
    injector = _injector(calls)
    long = Fault(kind=FaultKind.LINK_DROP, target="site-3", gap_s=0, hold_s=3600)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (injector.inject(long), done.set()))
    thread.start()
    injector.stop()
    assert done.wait(30)
    assert calls == ["begin link_drop site-3", "end link_drop site-3"]
