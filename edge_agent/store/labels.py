"""Anomaly ground truth on the agent: intervals per source, imported from JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge_agent.store.agent_store import AgentStore
from edgeward.errors import EdgewardError


@dataclass(kw_only=True, slots=True, frozen=True)
class AnomalyLabel:
    """A labelled anomaly: a source misbehaved between two instants (inclusive, ms)."""

    source: str
    start_ms: int
    end_ms: int
    kind: str


def add_labels(store: AgentStore, labels: Iterable[AnomalyLabel]) -> int:
    """Store labels (idempotently); return how many were new."""
    rows = [(label.source, label.start_ms, label.end_ms, label.kind) for label in labels]
    with store.transaction() as conn:
        before = conn.total_changes
        conn.executemany(
            "INSERT INTO anomaly_labels (source, start_ms, end_ms, kind) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            rows,
        )
        return conn.total_changes - before


def read_labels_file(path: Path) -> list[AnomalyLabel]:
    """Read JSON lines with source, start_ts, end_ts (epoch seconds) and kind.

    This is the simulator's `--labels` format; a line that does not fit is an error naming
    the line, since a silently skipped label would make every accuracy figure wrong.
    """
    labels = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise EdgewardError(f"cannot read labels file {path}: {err}") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            labels.append(
                AnomalyLabel(
                    source=str(item["source"]),
                    start_ms=round(float(item["start_ts"]) * 1000),
                    end_ms=round(float(item["end_ts"]) * 1000),
                    kind=str(item.get("kind", "anomaly")),
                )
            )
        except (ValueError, KeyError, TypeError) as err:
            raise EdgewardError(f"{path}:{number}: not a label ({err})") from err
    return labels


def labels_by_source(store: AgentStore, *, until_ms: int) -> dict[str, list[tuple[int, int]]]:
    """Return the labelled intervals that start before `until_ms`, per source."""
    intervals: dict[str, list[tuple[int, int]]] = {}
    for source, start, end in store.db.execute(
        "SELECT source, start_ms, end_ms FROM anomaly_labels WHERE start_ms <= ? "
        "ORDER BY source, start_ms",
        (until_ms,),
    ):
        intervals.setdefault(source, []).append((start, end))
    return intervals
