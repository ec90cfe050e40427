"""Read a site's training data from its store: series per source, cut off at one instant.

Every message of a run reads the data up to the same cut-off, fixed by the server, so that
the data a model was trained and evaluated on is exactly the data whose fingerprint goes
into its lineage, even though ingestion continues meanwhile.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from edge_agent.store import AgentStore
from edge_agent.store.labels import labels_by_source

# A series is split where consecutive readings are further apart than this many times the
# source's usual spacing (an outage), so that no window spans the gap.
GAP_FACTOR: Final = 3.0


@dataclass(kw_only=True, slots=True, frozen=True)
class SourceSeries:
    """Consecutive readings of one source: timestamps (ms) and values (NaN: not measured)."""

    source: str
    ts_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


@dataclass(kw_only=True, slots=True, frozen=True)
class SiteData:
    """A site's data up to a cut-off, with what its lineage needs."""

    series: tuple[SourceSeries, ...]
    labels: dict[str, list[tuple[int, int]]]
    rows: int
    sources: int
    first_ts_ms: int
    last_ts_ms: int
    fingerprint: str


def load_site_data(store: AgentStore, features: tuple[str, ...], *, cutoff_ms: int) -> SiteData:
    """Read every reading at or before `cutoff_ms` as series of the given features."""
    columns = ", ".join("json_extract(metrics, ?)" for _ in features)
    paths = [f'$."{name}"' for name in features]
    rows = store.db.execute(
        f"SELECT source, ts_ms, {columns} FROM readings WHERE ts_ms <= ? "  # noqa: S608
        "ORDER BY source, ts_ms",
        (*paths, cutoff_ms),
    ).fetchall()
    digest = hashlib.sha256(json.dumps(list(features)).encode())
    series: list[SourceSeries] = []
    start = 0
    while start < len(rows):
        source = rows[start][0]
        end = start
        while end < len(rows) and rows[end][0] == source:
            end += 1
        ts = np.array([row[1] for row in rows[start:end]], dtype=np.int64)
        values = np.array([row[2:] for row in rows[start:end]], dtype=np.float64)
        measured = ~np.isnan(values)
        digest.update(source.encode() + b"\0" + ts.tobytes())
        digest.update(measured.tobytes() + np.where(measured, values, 0.0).tobytes())
        series.extend(_split_at_gaps(source, ts, values))
        start = end
    return SiteData(
        series=tuple(series),
        labels=labels_by_source(store, until_ms=cutoff_ms),
        rows=len(rows),
        sources=len({s.source for s in series}),
        first_ts_ms=min((int(s.ts_ms[0]) for s in series), default=0),
        last_ts_ms=max((int(s.ts_ms[-1]) for s in series), default=0),
        fingerprint=digest.hexdigest(),
    )


def _split_at_gaps(
    source: str, ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> list[SourceSeries]:
    if len(ts) < 3:
        return [SourceSeries(source=source, ts_ms=ts, values=values)]
    steps = np.diff(ts)
    limit = GAP_FACTOR * float(np.median(steps))
    cuts = np.flatnonzero(steps > limit) + 1
    bounds = [0, *cuts.tolist(), len(ts)]
    return [
        SourceSeries(source=source, ts_ms=ts[a:b], values=values[a:b])
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
