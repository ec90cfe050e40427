"""Injected anomalies: what kinds exist, how each alters the KPIs, and their ground truth.

An anomaly lasts a number of readings (steps), not seconds, so it looks the same in a series
sampled every second or every minute. Each cell draws its anomalies from its own generator,
and the decision to start one uses a uniform draw the cell makes at every step whatever the
rate, so with the same seed a series with anomalies equals the series without them outside
the anomaly windows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np

from edgeward.simulator.metrics import COLUMN, METRIC_NAMES

DEFAULT_ANOMALY_RATE: Final = 0.015
MAX_ANOMALY_RATE: Final = 0.5


class AnomalyKind(StrEnum):
    """The kinds of fault the simulator injects."""

    SPIKE = "spike"
    DROP = "drop"
    DRIFT = "drift"
    STUCK = "stuck"
    SURGE = "surge"


@dataclass(frozen=True, kw_only=True, slots=True)
class Anomaly:
    """Ground truth of one injected anomaly: readings from `start_ts` to `end_ts` inclusive."""

    site: str
    source: str
    kind: AnomalyKind
    metrics: tuple[str, ...]
    start_ts: float
    end_ts: float

    def to_json(self) -> dict[str, object]:
        """Return the labels-file form of this anomaly."""
        return {
            "site": self.site,
            "source": self.source,
            "kind": self.kind.value,
            "metrics": list(self.metrics),
            "start_ts": self.start_ts,
            "end_ts": self.end_ts,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Effect:
    """How an anomaly changes a value: `value * scale + offset`, both drawn by magnitude."""

    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class AnomalyRule:
    """One kind: its length in steps, the metric groups it may hit and its effects.

    Stuck sensors and surges have no effects here: a stuck metric repeats its last value and
    a surge raises the cell's load (see `AnomalyInjector.load_change`).
    """

    kind: AnomalyKind
    steps: tuple[int, int]
    choices: tuple[tuple[str, ...], ...]
    effects: Mapping[str, Effect]
    ramp: bool = False


_OUTAGE = ("dl_throughput_mbps", "ul_throughput_mbps", "active_users", "prb_util_dl", "prb_util_ul")
_NEAR_ZERO = Effect(scale=(0.0, 0.05))

ANOMALY_RULES: Final = (
    AnomalyRule(
        kind=AnomalyKind.SPIKE,
        steps=(1, 3),
        choices=(("latency_ms",), ("packet_loss_pct",), ("cpu_pct",), ("temperature_c",)),
        effects={
            "latency_ms": Effect(scale=(4.0, 12.0), offset=(20.0, 60.0)),
            "packet_loss_pct": Effect(offset=(10.0, 50.0)),
            "cpu_pct": Effect(scale=(0.0, 0.0), offset=(96.0, 100.0)),
            "temperature_c": Effect(offset=(15.0, 35.0)),
        },
    ),
    AnomalyRule(
        kind=AnomalyKind.DROP,
        steps=(5, 30),
        choices=(_OUTAGE,),
        effects={name: _NEAR_ZERO for name in _OUTAGE},
    ),
    AnomalyRule(
        kind=AnomalyKind.DRIFT,
        steps=(30, 120),
        choices=(("latency_ms",), ("temperature_c",)),
        effects={
            "latency_ms": Effect(offset=(40.0, 240.0)),
            "temperature_c": Effect(offset=(8.0, 23.0)),
        },
        ramp=True,
    ),
    AnomalyRule(
        kind=AnomalyKind.STUCK,
        steps=(10, 60),
        choices=tuple((name,) for name in METRIC_NAMES),
        effects={},
    ),
    AnomalyRule(
        kind=AnomalyKind.SURGE,
        steps=(10, 40),
        choices=(("active_users", "prb_util_dl", "prb_util_ul"),),
        effects={},
    ),
)
MEAN_STEPS: Final = sum((rule.steps[0] + rule.steps[1]) / 2 for rule in ANOMALY_RULES) / len(
    ANOMALY_RULES
)


def start_probability(rate: float) -> float:
    """Return the per-step chance to start an anomaly so that `rate` of readings are in one."""
    if not 0.0 <= rate <= MAX_ANOMALY_RATE:
        raise ValueError(f"anomaly rate must be between 0 and {MAX_ANOMALY_RATE}, got {rate}")
    return rate / (MEAN_STEPS * (1.0 - rate))


def _lerp(bounds: tuple[float, float], weight: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * weight


@dataclass(slots=True)
class _Active:
    rule: AnomalyRule
    metrics: tuple[str, ...]
    columns: list[int]
    steps: int
    magnitude: float
    start_ts: float
    frozen: np.ndarray
    elapsed: int = 0
    last_ts: float = 0.0


class AnomalyInjector:
    """Start, apply and close anomalies for the cells of one simulator, step by step."""

    def __init__(
        self,
        *,
        site: str,
        sources: Sequence[str],
        seeds: Sequence[np.random.SeedSequence],
        rate: float,
    ) -> None:
        self._site = site
        self._sources = tuple(sources)
        self._rngs = [np.random.default_rng(seed) for seed in seeds]
        self._start_p = start_probability(rate)
        self._active: list[_Active | None] = [None] * len(self._sources)

    def start(self, ts: float, draws: np.ndarray, last: np.ndarray | None) -> None:
        """Start anomalies where a cell has none and its uniform draw falls under the rate.

        `last` is the previous step's output (cells x metrics); nothing starts without one.
        """
        if last is None or self._start_p == 0.0:
            return
        for cell in np.flatnonzero(draws < self._start_p).tolist():
            if self._active[cell] is None:
                self._active[cell] = self._draw(cell, ts, last[cell])

    def _draw(self, cell: int, ts: float, last_row: np.ndarray) -> _Active:
        rng = self._rngs[cell]
        rule = ANOMALY_RULES[int(rng.integers(len(ANOMALY_RULES)))]
        metrics = rule.choices[int(rng.integers(len(rule.choices)))]
        columns = [COLUMN[name] for name in metrics]
        return _Active(
            rule=rule,
            metrics=metrics,
            columns=columns,
            steps=int(rng.integers(rule.steps[0], rule.steps[1] + 1)),
            magnitude=float(rng.random()),
            start_ts=ts,
            frozen=last_row[columns].copy(),
        )

    def load_change(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the load added by surges and the factor they multiply users by, per cell."""
        added = np.zeros(len(self._sources))
        users = np.ones(len(self._sources))
        for cell, active in enumerate(self._active):
            if active is not None and active.rule.kind is AnomalyKind.SURGE:
                envelope = math.sin(math.pi * (active.elapsed + 0.5) / active.steps)
                added[cell] = envelope * (0.3 + 0.4 * active.magnitude)
                users[cell] = 1.0 + envelope * (0.5 + 1.0 * active.magnitude)
        return added, users

    def apply(self, values: np.ndarray) -> None:
        """Alter this step's raw values (cells x metrics) in place: spikes, drops, drifts."""
        for cell, active in enumerate(self._active):
            if active is None or not active.rule.effects:
                continue
            ramp = (active.elapsed + 1) / active.steps if active.rule.ramp else 1.0
            for name, column in zip(active.metrics, active.columns, strict=True):
                effect = active.rule.effects[name]
                scale = _lerp(effect.scale, active.magnitude)
                offset = _lerp(effect.offset, active.magnitude) * ramp
                values[cell, column] = values[cell, column] * scale + offset

    def freeze(self, values: np.ndarray) -> None:
        """Overwrite stuck metrics with the value they had before the anomaly, in place."""
        for cell, active in enumerate(self._active):
            if active is not None and active.rule.kind is AnomalyKind.STUCK:
                values[cell, active.columns] = active.frozen

    def finish_step(self, ts: float) -> list[Anomaly]:
        """Count this step and return the anomalies whose last reading it was."""
        ended: list[Anomaly] = []
        for cell, active in enumerate(self._active):
            if active is None:
                continue
            active.elapsed += 1
            active.last_ts = ts
            if active.elapsed >= active.steps:
                ended.append(self._ground_truth(cell, active))
                self._active[cell] = None
        return ended

    def close(self) -> list[Anomaly]:
        """End every open anomaly at its last reading and return them."""
        ended = [
            self._ground_truth(cell, active)
            for cell, active in enumerate(self._active)
            if active is not None and active.elapsed > 0
        ]
        self._active = [None] * len(self._sources)
        return ended

    def _ground_truth(self, cell: int, active: _Active) -> Anomaly:
        return Anomaly(
            site=self._site,
            source=self._sources[cell],
            kind=active.rule.kind,
            metrics=active.metrics,
            start_ts=active.start_ts,
            end_ts=active.last_ts,
        )
