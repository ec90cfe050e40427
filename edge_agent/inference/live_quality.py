"""Run the active model on readings as they arrive, and keep its live quality.

Each pass forecasts every reading that arrived since the last pass (from the window before
it) and accumulates, since the model was activated: the forecast error (normalised MAE, the
figure the rollout engine compares with the previous model's), the share of readings whose
anomaly score crossed the alarm threshold, and the inference latency. The counts restart when
another model becomes active, so a heartbeat always describes the active model alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from edge_agent.learning.site_data import SourceSeries
from edge_agent.model_store import ModelStore
from edge_agent.store import AgentStore
from edgeward.bundles import BundleError
from edgeward.models import (
    FeatureSeries,
    FeatureStats,
    ModelSpec,
    anomaly_scores,
    make_windows,
    model_from_arrays,
    predict,
)
from edgeward.workers import PeriodicWorker

log = logging.getLogger(__name__)
LATENCY_SAMPLES = 200
EXTRA_STEPS = 64  # readings fetched beyond one window, so a pass covers what arrived since


@dataclass(kw_only=True, slots=True)
class _Tally:
    version: int
    since_ms: int
    errors: float = 0.0
    samples: int = 0
    alarms: int = 0
    failures: int = 0
    last_ms: dict[str, int] = field(default_factory=dict)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))


class LiveQuality(PeriodicWorker):
    """Score the active model on arriving data; `snapshot()` feeds the heartbeat."""

    def __init__(
        self,
        store: AgentStore,
        models: ModelStore,
        *,
        interval_s: float = 5.0,
        alarm_threshold: float = 4.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name="live-quality", interval_s=interval_s)
        self._store = store
        self._models = models
        self._alarm_threshold = alarm_threshold
        self._clock = clock
        self._lock = threading.Lock()
        self._tally: _Tally | None = None
        self._model: tuple[int, ModelSpec, FeatureStats, torch.nn.Module] | None = None

    def snapshot(self) -> dict[str, float]:
        """Return live quality of the active model since it was activated."""
        with self._lock:
            tally = self._tally
            if tally is None or tally.samples == 0:
                return {"samples": 0.0, "failures": float(tally.failures if tally else 0)}
            latencies = sorted(tally.latencies_ms)
            return {
                "version": float(tally.version),
                "samples": float(tally.samples),
                "live_mae": tally.errors / tally.samples,
                "alarm_rate": tally.alarms / tally.samples,
                "inference_p50_ms": latencies[len(latencies) // 2],
                "inference_p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
                "failures": float(tally.failures),
            }

    def tick(self) -> None:
        """Forecast what arrived since the last pass with the active model."""
        version = self._models.state()["active"]
        if version is None:
            return
        model = self._load(version)
        if model is None:
            return
        _, spec, stats, network = model
        with self._lock:
            if self._tally is None or self._tally.version != version:
                self._tally = _Tally(version=version, since_ms=int(self._clock() * 1000))
            tally = self._tally
        for source in self._sources():
            try:
                self._score_source(source, spec, stats, network, tally)
            except (ValueError, RuntimeError) as err:
                with self._lock:
                    tally.failures += 1
                log.warning("live scoring of %s failed: %s", source, err)

    def _load(self, version: int) -> tuple[int, ModelSpec, FeatureStats, torch.nn.Module] | None:
        if self._model is not None and self._model[0] == version:
            return self._model
        try:
            installed = self._models.load(version)
        except BundleError as err:
            log.error("the active model %s cannot be loaded: %s", version, err)
            return None
        manifest = installed.bundle.manifest
        spec = ModelSpec.from_dict(manifest.model_spec)
        stats = FeatureStats.from_dict(
            {k: float(v) for k, v in manifest.normalisation.items()},  # type: ignore[arg-type]
            spec.features,
        )
        network = model_from_arrays(spec, installed.bundle.arrays)
        network.eval()
        self._model = (version, spec, stats, network)
        return self._model

    def _sources(self) -> list[str]:
        return [row[0] for row in self._store.db.execute("SELECT source FROM sources")]

    def _score_source(
        self,
        source: str,
        spec: ModelSpec,
        stats: FeatureStats,
        network: torch.nn.Module,
        tally: _Tally,
    ) -> None:
        columns = ", ".join("json_extract(metrics, ?)" for _ in spec.features)
        rows = self._store.db.execute(
            f"SELECT ts_ms, {columns} FROM readings WHERE source = ? "  # noqa: S608
            "ORDER BY ts_ms DESC LIMIT ?",
            (*[f'$."{f}"' for f in spec.features], source, spec.window + EXTRA_STEPS),
        ).fetchall()[::-1]
        if len(rows) <= spec.window:
            return
        series = SourceSeries(
            source=source,
            ts_ms=np.array([r[0] for r in rows], dtype=np.int64),
            values=np.array([r[1:] for r in rows], dtype=np.float64),
        )
        windows = make_windows(
            [FeatureSeries(source=source, timestamps=series.ts_ms, values=series.values)],
            stats=stats,
            window=spec.window,
        )
        after = max(tally.since_ms, tally.last_ms.get(source, 0))
        fresh = np.flatnonzero(windows.target_ts > after)
        if not len(fresh):
            return
        windows = windows.subset(fresh)
        started = time.perf_counter()
        forecast = predict(network, windows)
        elapsed_ms = (time.perf_counter() - started) * 1000 / len(fresh)
        residual = windows.targets - forecast
        errors = np.nanmean(np.abs(residual), axis=1)
        scores = anomaly_scores(residual)
        observed = ~np.isnan(errors)
        with self._lock:
            tally.errors += float(errors[observed].sum())
            tally.samples += int(observed.sum())
            tally.alarms += int((scores > self._alarm_threshold).sum())
            tally.latencies_ms.append(elapsed_ms)
            tally.last_ms[source] = int(windows.target_ts.max())
