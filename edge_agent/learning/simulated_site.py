"""Fill a site's store with simulated history, through the same validation as live data.

Used by Flower's simulation engine (each virtual site fills its own store on first use), by
tests and by benchmarks. Readings go through the real writer and validator, and the
simulator's anomalies become the site's labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from edge_agent.governance.pii import PiiScrubber, load_or_create_pii_key
from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.writer import Inbound, IngestWriter
from edge_agent.store import AgentStore
from edge_agent.store.labels import AnomalyLabel, add_labels
from edgeward.records import Candidate, Rejection
from edgeward.schema import load_schema
from edgeward.simulator import simulate

READY_MARKER = ".simulated"
CHUNK = 5000


@dataclass(kw_only=True, slots=True, frozen=True)
class SimulatedHistory:
    """What to simulate for one site."""

    site: str
    seed: int
    sources: int = 4
    days: float = 2.0
    step_s: float = 60.0
    anomaly_rate: float = 0.015
    end_ts: float | None = None


def fill_simulated_site(data_dir: Path, history: SimulatedHistory) -> int:
    """Write the simulated history into the store at `data_dir`; return the readings stored."""
    end = history.end_ts if history.end_ts is not None else time.time()
    steps = int(history.days * 86400 / history.step_s)
    series = simulate(
        site=history.site,
        sources=history.sources,
        seed=history.seed,
        start_ts=end - (steps - 1) * history.step_s,
        step_s=history.step_s,
        steps=steps,
        anomaly_rate=history.anomaly_rate,
    )
    readings = [
        Candidate(origin="simulator", source=r.source, ts=r.ts, metrics=r.metrics)
        for r in series.readings()
    ]
    labels = [
        AnomalyLabel(
            source=a.source,
            start_ms=round(a.start_ts * 1000),
            end_ms=round(a.end_ts * 1000),
            kind=str(a.kind),
        )
        for a in series.anomalies
    ]
    return ingest_history(data_dir, readings, labels, now=end)


def ingest_history(
    data_dir: Path, readings: list[Candidate], labels: list[AnomalyLabel], *, now: float
) -> int:
    """Validate and store readings (as of `now`) and labels; return the readings stored."""
    schema = load_schema()
    store = AgentStore.open(data_dir, synchronous="normal")
    try:
        schema_id = store.register_schema(schema)
        validator = RecordValidator(
            schema, PiiScrubber(schema.pii, load_or_create_pii_key(data_dir))
        )
        writer = IngestWriter(store, validator, schema_id=schema_id, clock=lambda: now)
        stored = 0
        for start in range(0, len(readings), CHUNK):
            chunk: list[Candidate | Rejection] = list(readings[start : start + CHUNK])
            stored += writer.process(
                [Inbound(origin="history", raw=b"", decode=partial(list, chunk))]
            ).records
        add_labels(store, labels)
    finally:
        store.close()
    return stored


def ensure_simulated_site(data_dir: Path, history: SimulatedHistory) -> None:
    """Fill the site once; a fill interrupted before its marker was written starts over."""
    marker = data_dir / READY_MARKER
    if marker.exists():
        return
    if data_dir.exists():
        for leftover in data_dir.glob("agent.db*"):
            leftover.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    fill_simulated_site(data_dir, history)
    marker.write_text(history.site)
