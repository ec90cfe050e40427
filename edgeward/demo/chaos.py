"""`--chaos`: which fault comes next, and the thread that injects faults one at a time.

The plan is pure and seeded: rounds of every fault kind in a shuffled order, each with a
drawn target, gap and duration, so a run can be replayed with `--chaos-seed` and a unit test
can check the schedule. How a fault is done (a SIGKILL, a cut relay, a full disk) is a
`FaultHandler`'s business (`edgeward.demo.faults`); the injector only begins a fault, holds
it, and always ends it, even when asked to stop halfway, so the run never ends with a role
down, a link cut or a disk full.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from edgeward.demo.options import ChaosTimings

log = logging.getLogger(__name__)
READY_POLL_S = 1.0


class FaultKind(StrEnum):
    """The kinds of fault `--chaos` injects."""

    AGENT_KILL = "agent_kill"
    AGGREGATOR_KILL = "aggregator_kill"
    CONTROL_PLANE_KILL = "control_plane_kill"
    LINK_DROP = "link_drop"
    DISK_FULL = "disk_full"


ROLE_TARGETS: Mapping[FaultKind, str] = {
    FaultKind.AGGREGATOR_KILL: "aggregator",
    FaultKind.CONTROL_PLANE_KILL: "control plane",
}
"""Faults aimed at one central role; every other kind hits a site drawn at random."""


@dataclass(kw_only=True, slots=True, frozen=True)
class Fault:
    """One planned fault: what, on whom, after how long a pause, held for how long."""

    kind: FaultKind
    target: str
    gap_s: float
    hold_s: float


class FaultPlan:
    """Draw faults in rounds that each hold every kind once, from a seed."""

    def __init__(self, timings: ChaosTimings, sites: tuple[str, ...]) -> None:
        if not sites:
            raise ValueError("chaos needs at least one site")
        self._timings = timings
        self._sites = sites
        self._rng = random.Random(timings.seed)  # noqa: S311 - a replayable schedule, not a secret
        self._round: list[FaultKind] = []

    def next(self) -> Fault:
        """Return the next fault of the plan."""
        if not self._round:
            self._round = list(FaultKind)
            self._rng.shuffle(self._round)
        kind = self._round.pop(0)
        target = ROLE_TARGETS.get(kind) or self._rng.choice(self._sites)
        return Fault(
            kind=kind,
            target=target,
            gap_s=self._draw(self._timings.gap_min_s, self._timings.gap_max_s),
            hold_s=self._hold(kind),
        )

    def _hold(self, kind: FaultKind) -> float:
        timings = self._timings
        if kind is FaultKind.LINK_DROP:
            return self._draw(timings.link_down_min_s, timings.link_down_max_s)
        if kind is FaultKind.DISK_FULL:
            return timings.disk_full_s
        return self._draw(timings.down_min_s, timings.down_max_s)

    def _draw(self, low: float, high: float) -> float:
        return round(self._rng.uniform(min(low, high), max(low, high)), 1)


class FaultHandler(Protocol):
    """Does one kind of fault: begins it, and ends it (restart, restore, free)."""

    def begin(self, fault: Fault) -> dict[str, Any]:
        """Inject the fault; return what to remember for `end` and the report."""

    def end(self, fault: Fault, begun: dict[str, Any]) -> dict[str, Any]:
        """Undo the fault and wait until the target works again; return evidence."""


@dataclass(kw_only=True, slots=True)
class FaultRecord:
    """What happened to one injected fault, for the report."""

    kind: FaultKind
    target: str
    at: float
    hold_s: float
    recovered: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self, started_at: float) -> dict[str, Any]:
        """Return the record as JSON, its time in seconds since `started_at`."""
        return {
            "kind": self.kind.value,
            "target": self.target,
            "at_s": round(self.at - started_at, 1),
            "hold_s": self.hold_s,
            "recovered": self.recovered,
            "evidence": self.evidence,
            "error": self.error,
        }


class ChaosInjector:
    """Inject the plan's faults one at a time in a background thread."""

    def __init__(
        self,
        *,
        plan: FaultPlan,
        handlers: Mapping[FaultKind, FaultHandler],
        ready: Callable[[], bool] = lambda: True,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.records: list[FaultRecord] = []
        self._handlers = handlers
        self._ready = ready
        self._on_event = on_event
        self._stop = threading.Event()
        self._covered = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="demo-chaos", daemon=True)

    def start(self) -> None:
        """Start injecting in the background."""
        self._thread.start()

    def stop(self, timeout: float = 300.0) -> None:
        """Stop after ending the fault in progress (its role restarted, its link restored)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_covered(self, timeout: float) -> bool:
        """Wait until every kind was injected at least once; return whether it was."""
        return self._covered.wait(timeout)

    def counts(self) -> dict[str, int]:
        """Return how many faults of each kind were injected (every kind listed)."""
        with self._lock:
            counts = {kind.value: 0 for kind in FaultKind}
            for record in self.records:
                counts[record.kind.value] += 1
        return counts

    def _run(self) -> None:
        while not self._ready():
            if self._stop.wait(READY_POLL_S):
                return
        self._say("chaos: faults start now")
        while not self._stop.is_set():
            fault = self.plan.next()
            if self._stop.wait(fault.gap_s):
                return
            self.inject(fault)

    def inject(self, fault: Fault) -> FaultRecord:
        """Begin `fault`, hold it (less if asked to stop), then end it; record the outcome."""
        record = FaultRecord(kind=fault.kind, target=fault.target, at=time.time(), hold_s=0.0)
        with self._lock:
            self.records.append(record)
        handler = self._handlers[fault.kind]
        self._say(f"chaos: {fault.kind.value} on {fault.target} for {fault.hold_s:.0f} s")
        begun: dict[str, Any] = {}
        try:
            begun = handler.begin(fault)
        except Exception as err:  # a fault that cannot be injected must not end the run
            log.error("chaos: %s on %s could not begin: %s", fault.kind, fault.target, err)
            record.error = f"begin: {err}"
        self._stop.wait(fault.hold_s)
        record.hold_s = round(time.time() - record.at, 1)
        try:
            record.evidence = handler.end(fault, begun)
            record.recovered = record.error is None
        except Exception as err:
            log.error("chaos: %s on %s did not recover: %s", fault.kind, fault.target, err)
            record.error = f"{record.error + '; ' if record.error else ''}end: {err}"
        with self._lock:
            if {r.kind for r in self.records} >= set(FaultKind):
                self._covered.set()  # once the last new kind has run its course
        outcome = "recovered" if record.recovered else f"NOT recovered ({record.error})"
        self._say(f"chaos: {fault.kind.value} on {fault.target} {outcome}")
        return record

    def _say(self, text: str) -> None:
        log.info("%s", text)
        if self._on_event is not None:
            self._on_event(text)
