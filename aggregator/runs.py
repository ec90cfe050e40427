"""Submit runs of Edgeward's Flower App to a SuperLink and wait for how they end."""

from __future__ import annotations

import json
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

from aggregator.outcomes import RunOutcome, read_outcome
from aggregator.superlink import CONNECTION, SuperLinkProcess

POLL_S = 1.0


def flower_app_dir() -> Path:
    """Return the Flower App folder shipped with Edgeward (what `flwr run` submits)."""
    return Path(str(resources.files("aggregator").joinpath("flower_app")))


class RunSubmitter:
    """Start runs through `flwr run` and follow them to their outcome file."""

    def __init__(self, superlink: SuperLinkProcess, state_dir: Path) -> None:
        self.superlink = superlink
        self.state_dir = state_dir

    def submit(self, overrides: dict[str, Any]) -> int:
        """Submit the Flower App with run-config overrides; return the run id."""
        pairs = " ".join(f"{key}={_toml_value(value)}" for key, value in overrides.items())
        reply = self.superlink.flwr("run", str(flower_app_dir()), CONNECTION, "--run-config", pairs)
        return int(reply["run-id"])

    def wait(
        self, run_id: int, *, timeout_s: float, stop: threading.Event | None = None
    ) -> RunOutcome:
        """Wait until the run writes its outcome or Flower reports it finished without one."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            outcome = read_outcome(self.state_dir, run_id)
            if outcome is not None:
                return outcome
            status = self.status(run_id)
            if status.startswith("finished"):
                time.sleep(POLL_S)  # the outcome file may land just after the status
                return read_outcome(self.state_dir, run_id) or RunOutcome.failed(
                    run_id, f"Flower reports the run {status} without an outcome"
                )
            if (stop or threading.Event()).wait(POLL_S):
                break
        self.superlink.flwr("stop", str(run_id), CONNECTION)
        return RunOutcome.failed(run_id, "timed out or stopped; the run was stopped")

    def status(self, run_id: int) -> str:
        """Return Flower's status of a run, e.g. "running" or "finished:completed"."""
        reply = self.superlink.flwr("ls", CONNECTION, "--run-id", str(run_id))
        runs = reply.get("runs", [])
        return str(runs[0].get("status", "")) if runs else ""


def _toml_value(value: Any) -> str:
    """Write a run-config value the way `flwr run --run-config` parses it (TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))
