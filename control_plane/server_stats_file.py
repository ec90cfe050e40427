"""The ZeroMQ server's counters as a file in the state folder, for operators and benchmarks.

`ControlPlane` rewrites `<state_dir>/server-stats.json` every few seconds and once more when
it stops: messages received, handled and answered, errors, pushes, and the handling-time
percentiles over the server's sliding window (see `control_plane.transport.stats`). A file
rather than a port or an API route, because the figures must be readable from another
process on the host without the dashboard running (`--no-dashboard`, load benchmarks).

The file is replaced by a rename, so a reader sees the old snapshot or the new one, never a
torn one. It is not fsynced: the counters restart from zero with the process anyway.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Final

from control_plane.transport import ServerStats

SERVER_STATS_FILE: Final = "server-stats.json"
SERVER_STATS_INTERVAL_S: Final = 5.0
"""How often the file is rewritten: shorter than the handling window at a busy server's rate."""


def write_server_stats(state_dir: Path, stats: ServerStats, *, now: float, pid: int) -> Path:
    """Replace the stats file with `stats`, stamped with the time and the server's PID."""
    path = state_dir / SERVER_STATS_FILE
    document = {"at": now, "pid": pid, **dataclasses.asdict(stats)}
    temporary = path.with_name(f".{SERVER_STATS_FILE}.{pid}.tmp")
    temporary.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
    return path


def read_server_stats(state_dir: Path) -> dict[str, Any] | None:
    """Return the last snapshot written in `state_dir`, or None if there is none yet."""
    try:
        text = (state_dir / SERVER_STATS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    document: dict[str, Any] = json.loads(text)
    return document
