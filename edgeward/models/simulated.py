"""Feed the simulator's output to the model zoo: per-cell series and anomaly intervals.

Benchmarks, tests and simulated fleets use this in place of the agent's store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeward.models.windows import FeatureSeries
from edgeward.simulator import SimulatedSeries


def to_ms(seconds: np.ndarray | float) -> np.ndarray:
    """Return epoch seconds as int64 epoch milliseconds (rounded, as the store keeps them)."""
    return np.rint(np.asarray(seconds, dtype=np.float64) * 1000.0).astype(np.int64)


def series_from_simulation(
    simulation: SimulatedSeries, features: Sequence[str]
) -> list[FeatureSeries]:
    """Return one `FeatureSeries` per simulated cell with columns in `features` order."""
    missing = [name for name in features if name not in simulation.metrics]
    if missing:
        raise ValueError(f"the simulation has no metric {', '.join(missing)}")
    columns = [simulation.metrics.index(name) for name in features]
    timestamps = to_ms(simulation.ts)
    return [
        FeatureSeries(
            source=source,
            timestamps=timestamps,
            values=np.ascontiguousarray(simulation.values[:, cell, columns]),
        )
        for cell, source in enumerate(simulation.sources)
    ]


def anomaly_intervals(simulation: SimulatedSeries) -> dict[str, list[tuple[int, int]]]:
    """Return each cell's injected anomalies as inclusive (start_ms, end_ms) intervals."""
    intervals: dict[str, list[tuple[int, int]]] = {}
    for anomaly in simulation.anomalies:
        span = (int(to_ms(anomaly.start_ts)), int(to_ms(anomaly.end_ts)))
        intervals.setdefault(anomaly.source, []).append(span)
    return intervals
