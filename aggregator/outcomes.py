"""How a run ended, written by the ServerApp and read by the service (one JSON file per run)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["completed", "skipped", "failed"]


@dataclass(kw_only=True, slots=True, frozen=True)
class RunOutcome:
    """The end of one run: trained and submitted, skipped for lack of new data, or failed."""

    run_id: int
    status: Status
    detail: str = ""
    challenger: str = ""
    total_rows: int = 0
    submission: str | None = None
    sites: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    finished_at: float = 0.0

    @classmethod
    def failed(cls, run_id: int, detail: str) -> RunOutcome:
        """Return the outcome of a run that produced nothing."""
        return cls(run_id=run_id, status="failed", detail=detail, finished_at=time.time())


def outcome_path(state_dir: Path, run_id: int) -> Path:
    """Return where a run's outcome is kept."""
    return state_dir / "runs" / f"{run_id}.json"


def write_outcome(state_dir: Path, outcome: RunOutcome) -> None:
    """Write an outcome atomically (a reader never sees half a file)."""
    path = outcome_path(state_dir, outcome.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(outcome), indent=2))
    temporary.replace(path)


def read_outcome(state_dir: Path, run_id: int) -> RunOutcome | None:
    """Return a run's outcome, or None if it has not ended."""
    path = outcome_path(state_dir, run_id)
    if not path.exists():
        return None
    return RunOutcome(**json.loads(path.read_text()))
