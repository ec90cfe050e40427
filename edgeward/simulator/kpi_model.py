"""Generate base-station KPIs deterministically from a seed: numpy only, no I/O.

Each cell's load L(t) in [0, 1] follows its type's daily shape (weekday or weekend, in the
cell's local time) scaled by its peak load, plus slowly varying noise (an Ornstein-Uhlenbeck
process, so it is consistent whatever the step). The KPIs derive from L: users grow with
L x capacity, PRB utilisation saturates, throughput is PRB x capacity x an efficiency that
falls with load, latency and loss rise sharply near congestion, CPU is 20 + 60 L and the
temperature is the site's ambient daily cycle plus the CPU's heat. Every value is clipped
to the schema's range and rounded to 3 decimals (users to an integer).

`KpiSimulator.step` produces one reading per cell for one instant (streaming);
`simulate` produces a whole series at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from edgeward.simulator import metrics as m
from edgeward.simulator.anomalies import DEFAULT_ANOMALY_RATE, Anomaly, AnomalyInjector
from edgeward.simulator.profiles import CELL_TRAITS, SourceProfile, cell_seeds, profiles_for

NOISE_TAU_S: Final = 1800.0  # correlation time of the load noise
_NOISE_WIDTH: Final = 10  # normal draws per cell and step: load + 9 metrics
_CHUNK: Final = 512  # steps of noise drawn at once
_LOW = np.array([metric.low for metric in m.METRICS])
_HIGH = np.array([metric.high for metric in m.METRICS])
_PRB_CURVE = math.tanh(1.5)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reading:
    """One cell's KPIs at one instant (epoch seconds), keyed by canonical metric name."""

    source: str
    ts: float
    metrics: dict[str, float | int]

    def to_json(self) -> dict[str, object]:
        """Return the MQTT payload form of this reading."""
        return {"ts": self.ts, "source": self.source, "metrics": self.metrics}


@dataclass(frozen=True, kw_only=True, slots=True)
class Tick:
    """One step of every cell, and the anomalies whose last reading is in this step."""

    ts: float
    readings: tuple[Reading, ...]
    ended: tuple[Anomaly, ...]


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class SimulatedSeries:
    """A whole simulated series: `values[step, cell, metric]` in `metrics` order."""

    site: str
    sources: tuple[str, ...]
    ts: np.ndarray
    values: np.ndarray
    anomalies: tuple[Anomaly, ...]
    metrics: tuple[str, ...] = field(default=m.METRIC_NAMES)

    def column(self, metric: str) -> np.ndarray:
        """Return one metric as an array of shape (steps, cells)."""
        return self.values[:, :, m.COLUMN[metric]]

    def readings(self) -> list[Reading]:
        """Return every reading, step by step and cell by cell."""
        return [
            reading
            for ts, rows in zip(self.ts.tolist(), self.values, strict=True)
            for reading in _readings(self.sources, ts, rows)
        ]


class _NoiseStream:
    """Standard normal and uniform draws, one row per cell and step, from per-cell streams."""

    def __init__(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        self._rngs = [np.random.default_rng(seed) for seed in seeds]
        self._pos = _CHUNK
        self._normals = np.empty((len(seeds), _CHUNK, _NOISE_WIDTH))
        self._uniforms = np.empty((len(seeds), _CHUNK))

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pos == _CHUNK:
            for cell, rng in enumerate(self._rngs):
                self._normals[cell] = rng.standard_normal((_CHUNK, _NOISE_WIDTH))
                self._uniforms[cell] = rng.random(_CHUNK)
            self._pos = 0
        pos = self._pos
        self._pos += 1
        return self._normals[:, pos, :], self._uniforms[:, pos]


class KpiSimulator:
    """Stream KPIs for the cells of one site; deterministic for (site, sources, seed, times)."""

    def __init__(
        self, *, site: str, sources: int, seed: int, anomaly_rate: float = DEFAULT_ANOMALY_RATE
    ) -> None:
        self.site = site
        self.profiles: tuple[SourceProfile, ...] = tuple(profiles_for(site, sources, seed))
        self.sources = tuple(profile.source for profile in self.profiles)
        seeds = [cell_seeds(seed, site, p.index) for p in self.profiles]
        self._noise = _NoiseStream([s[1] for s in seeds])
        self._anomalies = AnomalyInjector(
            site=site, sources=self.sources, seeds=[s[2] for s in seeds], rate=anomaly_rate
        )
        self._init_constants()
        self._ou = np.zeros(len(self.profiles))
        self._last_ts: float | None = None
        self._last: np.ndarray | None = None

    def _init_constants(self) -> None:
        def column(name: str) -> np.ndarray:
            return np.array([getattr(profile, name) for profile in self.profiles], dtype=float)

        traits = [CELL_TRAITS[profile.cell_type] for profile in self.profiles]
        # 25 points per day: hour 24 repeats hour 0, for interpolation across midnight.
        self._weekday = np.array([[*t.weekday, t.weekday[0]] for t in traits])
        self._weekend = np.array([[*t.weekend, t.weekend[0]] for t in traits])
        self._phase_s = column("phase_h") * 3600.0
        self._peak = column("peak_load")
        self._sigma = column("noise")
        self._capacity = column("capacity_users")
        self._dl_capacity = column("dl_capacity_mbps")
        self._ul_capacity = column("ul_capacity_mbps")
        self._ul_share = column("ul_prb_share")
        self._latency = column("base_latency_ms")
        self._loss = column("base_loss_pct")
        self._ambient = column("ambient_c")
        self._temp_offset = column("temperature_offset_c")
        self._temp_swing = column("temperature_swing_c")
        self._rows = np.arange(len(self.profiles))

    def step(self, ts: float) -> Tick:
        """Return every cell's reading at `ts` (after the previous step's `ts`)."""
        values, ended = self.advance(ts)
        return Tick(ts=ts, readings=tuple(_readings(self.sources, ts, values)), ended=ended)

    def advance(self, ts: float) -> tuple[np.ndarray, tuple[Anomaly, ...]]:
        """Return the values at `ts` as an array (cells x metrics) and the anomalies ended."""
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"time must advance: {ts} is not after {self._last_ts}")
        normals, uniforms = self._noise.next()
        self._anomalies.start(ts, uniforms, self._last)
        base, hour = self._base_load(ts)
        load = np.clip(base + self._next_noise(ts, normals[:, 0]), 0.0, 1.0)
        added, users_factor = self._anomalies.load_change()
        load = np.clip(load + added, 0.0, 1.0)
        values = self._derive(load, users_factor, hour, normals)
        self._anomalies.apply(values)
        values = np.round(np.clip(values, _LOW, _HIGH), 3)
        values[:, m.ACTIVE_USERS] = np.rint(values[:, m.ACTIVE_USERS])
        self._anomalies.freeze(values)
        self._last, self._last_ts = values, ts
        return values, tuple(self._anomalies.finish_step(ts))

    def close(self) -> tuple[Anomaly, ...]:
        """End the stream: return the anomalies still open, cut at the last reading."""
        return tuple(self._anomalies.close())

    def _base_load(self, ts: float) -> tuple[np.ndarray, np.ndarray]:
        local = ts + self._phase_s
        day = np.floor(local / 86400.0)
        weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday; Monday is 0
        hour = (local - day * 86400.0) / 3600.0
        index = np.minimum(hour.astype(int), 23)
        frac = hour - index
        table = np.where(weekend[:, None], self._weekend, self._weekday)
        shape = table[self._rows, index] * (1 - frac) + table[self._rows, index + 1] * frac
        return shape * self._peak, hour

    def _next_noise(self, ts: float, normal: np.ndarray) -> np.ndarray:
        if self._last_ts is None:
            self._ou = self._sigma * normal
        else:
            keep = math.exp(-(ts - self._last_ts) / NOISE_TAU_S)
            self._ou = keep * self._ou + math.sqrt(1 - keep * keep) * self._sigma * normal
        return self._ou

    def _derive(
        self, load: np.ndarray, users_factor: np.ndarray, hour: np.ndarray, z: np.ndarray
    ) -> np.ndarray:
        values = np.empty((len(self.profiles), len(m.METRICS)))
        prb_dl = np.clip(100.0 * np.tanh(1.5 * load) / _PRB_CURVE + 1.5 * z[:, 1], 0.0, 100.0)
        prb_ul = np.clip(prb_dl * self._ul_share + 1.0 * z[:, 2], 0.0, 100.0)
        efficiency = 1.0 - 0.35 * load  # more cell-edge users and interference under load
        congestion = np.minimum(load, 0.985)
        overload = np.maximum(load - 0.8, 0.0) / 0.2
        cpu = 20.0 + 60.0 * load + 2.5 * z[:, 8]
        ambient = self._ambient + self._temp_swing * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
        values[:, m.PRB_DL] = prb_dl
        values[:, m.PRB_UL] = prb_ul
        values[:, m.ACTIVE_USERS] = load * self._capacity * users_factor * (1 + 0.04 * z[:, 3])
        values[:, m.DL_THROUGHPUT] = (
            self._dl_capacity * prb_dl / 100.0 * efficiency * (1 + 0.05 * z[:, 4])
        )
        values[:, m.UL_THROUGHPUT] = (
            self._ul_capacity * prb_ul / 100.0 * efficiency * (1 + 0.06 * z[:, 5])
        )
        values[:, m.LATENCY] = (
            self._latency * (1 + 0.2 * load) + 1.5 * congestion / (1 - congestion)
        ) * np.exp(0.08 * z[:, 6])
        values[:, m.PACKET_LOSS] = (self._loss * (1 + load) + 6.0 * overload**2) * np.exp(
            0.2 * z[:, 7]
        )
        values[:, m.CPU] = cpu
        values[:, m.TEMPERATURE] = ambient + self._temp_offset + 0.15 * cpu + 0.3 * z[:, 9]
        return values


def _readings(sources: Sequence[str], ts: float, values: np.ndarray) -> list[Reading]:
    readings = []
    for source, row in zip(sources, values.tolist(), strict=True):
        metrics: dict[str, float | int] = dict(zip(m.METRIC_NAMES, row, strict=True))
        metrics["active_users"] = int(row[m.ACTIVE_USERS])
        readings.append(Reading(source=source, ts=ts, metrics=metrics))
    return readings


def simulate(
    *,
    site: str,
    sources: int,
    seed: int,
    start_ts: float,
    step_s: float,
    steps: int,
    anomaly_rate: float = DEFAULT_ANOMALY_RATE,
) -> SimulatedSeries:
    """Simulate `steps` readings `step_s` apart from `start_ts` for every cell of `site`."""
    if step_s <= 0 or steps < 1:
        raise ValueError(f"need step_s > 0 and steps >= 1, got {step_s} and {steps}")
    simulator = KpiSimulator(site=site, sources=sources, seed=seed, anomaly_rate=anomaly_rate)
    times = start_ts + step_s * np.arange(steps)
    values = np.empty((steps, sources, len(m.METRICS)))
    anomalies: list[Anomaly] = []
    for index, ts in enumerate(times.tolist()):
        values[index], ended = simulator.advance(ts)
        anomalies.extend(ended)
    anomalies.extend(simulator.close())
    return SimulatedSeries(
        site=site,
        sources=simulator.sources,
        ts=times,
        values=values,
        anomalies=tuple(sorted(anomalies, key=lambda a: (a.start_ts, a.source))),
    )
