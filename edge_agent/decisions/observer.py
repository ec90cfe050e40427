"""Run the active model on each reading as it is stored and turn what it says into decisions.

The writer hands over records right after they are committed; a worker thread keeps the last
window of each source in memory (no query per reading), forecasts the next step with the
active model, scores the reading that just arrived against the previous forecast, and asks
the policy what that calls for. Each proposal becomes a `Decision` with its evidence and
context and goes to the `DecisionEngine`.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import torch

from edge_agent.decisions.engine import DecisionEngine
from edge_agent.decisions.policy import Observation, PolicyRule, proposals
from edge_agent.model_store import ModelStore
from edgeward.bundles import BundleError
from edgeward.models import FeatureStats, ModelSpec, model_from_arrays
from edgeward.records import MetricRecord
from edgeward.risk import Decision, DecisionContext

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000


@dataclass(frozen=True, kw_only=True, slots=True)
class DecisionSettings:
    """How readings become decisions on this site."""

    peak_hours: frozenset[int] = frozenset(range(8, 22))
    protected_sources: frozenset[str] = frozenset()
    cooldown_s: float = 300.0  # the same action on the same source is proposed once per cooldown


@dataclass(kw_only=True, slots=True)
class _Loaded:
    version: int
    spec: ModelSpec
    mean: np.ndarray
    std: np.ndarray
    network: torch.nn.Module


@dataclass(kw_only=True, slots=True)
class _SourceState:
    rows: deque[np.ndarray]
    forecast: np.ndarray | None = None
    last_proposed: dict[str, float] = field(default_factory=dict)


class ModelDecisions:
    """Feed stored readings through the active model, the policy and the decision engine."""

    def __init__(
        self,
        *,
        models: ModelStore,
        engine: DecisionEngine,
        settings: DecisionSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._models = models
        self._engine = engine
        self._settings = settings or DecisionSettings()
        self._clock = clock
        self._queue: queue.Queue[Sequence[MetricRecord] | None] = queue.Queue(QUEUE_SIZE)
        self._sources: dict[str, _SourceState] = {}
        self._loaded: _Loaded | None = None
        self._thread: threading.Thread | None = None
        self.processed = 0

    def on_stored(self, records: Sequence[MetricRecord]) -> None:
        """Take records the writer just committed (never blocks the writer for long)."""
        try:
            self._queue.put(records, timeout=1.0)
        except queue.Full:
            log.warning("decision queue full: %d readings not screened for actions", len(records))

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._run, name="decisions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while (records := self._queue.get()) is not None:
            for record in records:
                try:
                    self.observe(record)
                except Exception:
                    log.exception("deciding on a reading of %s failed", record.source)
                self.processed += 1

    def observe(self, record: MetricRecord) -> list[Decision]:
        """Forecast after `record`, apply the policy and propose what it calls for."""
        model = self._model()
        if model is None:
            return []
        features = model.spec.features
        row = np.array([record.metrics.get(f, math.nan) for f in features], dtype=np.float64)
        state = self._sources.setdefault(
            record.source, _SourceState(rows=deque(maxlen=model.spec.window))
        )
        normalised = (row - model.mean) / model.std
        score = _score(normalised, state.forecast)
        state.rows.append(np.nan_to_num(normalised, nan=0.0))
        if len(state.rows) < model.spec.window:
            return []
        window = torch.from_numpy(np.stack(state.rows).astype(np.float32))[None]
        with torch.inference_mode():
            state.forecast = model.network(window)[0].numpy().astype(np.float64)
        forecast = state.forecast * model.std + model.mean
        observation = Observation(
            source=record.source,
            ts_ms=record.ts_ms,
            values=dict(record.metrics),
            forecast=dict(zip(features, forecast.tolist(), strict=True)),
            score=score,
            model_version=model.version,
        )
        made = []
        for rule in proposals(observation):
            if self._cooling_down(state, rule):
                continue
            decision = self._decision(rule, observation)
            self._engine.propose(decision)
            made.append(decision)
        return made

    def _cooling_down(self, state: _SourceState, rule: PolicyRule) -> bool:
        now = self._clock()
        last = state.last_proposed.get(rule.name)
        if last is not None and now - last < self._settings.cooldown_s:
            return True
        state.last_proposed[rule.name] = now
        return False

    def _decision(self, rule: PolicyRule, o: Observation) -> Decision:
        hour = datetime.fromtimestamp(o.ts_ms / 1000, UTC).hour
        return Decision(
            site=self._engine.site,
            action=rule.action,
            target=o.source,
            parameters=dict(rule.parameters),
            model_version=o.model_version,
            confidence=rule.confidence(o),
            evidence={name: round(o.now(name), 3) for name in rule.evidence if name in o.values},
            context=DecisionContext(
                hour=hour,
                peak_hour=hour in self._settings.peak_hours,
                users_affected=int(o.now("active_users")),
                protected_target=o.source in self._settings.protected_sources,
                recent_similar=self._engine.journal.count_similar(rule.action, o.source),
            ),
            summary=rule.summary(o)[:500],
            created_at=o.ts_ms / 1000,
        )

    def _model(self) -> _Loaded | None:
        version = self._models.state()["active"]
        if version is None:
            return None
        if self._loaded is not None and self._loaded.version == version:
            return self._loaded
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
        network = model_from_arrays(spec, installed.bundle.arrays).eval()
        self._loaded = _Loaded(
            version=version, spec=spec, mean=stats.mean, std=stats.std, network=network
        )
        self._sources.clear()  # forecasts of another model say nothing about this one
        return self._loaded


def _score(normalised: np.ndarray, forecast: np.ndarray | None) -> float:
    """Return the RMS normalised residual of a reading against its forecast (0 if none)."""
    if forecast is None:
        return 0.0
    residual = normalised - forecast
    observed = residual[~np.isnan(residual)]
    return float(np.sqrt(np.mean(np.square(observed)))) if len(observed) else 0.0
