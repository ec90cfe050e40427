"""Continuous training: keep the SuperLink up and start challenger runs on a schedule.

Each configured challenger gets a run at most once per `interval_s`. The ServerApp itself
decides whether enough new data has arrived across the fleet (`min_new_rows` since that
challenger's last completed run) and, if not, ends the run early as "skipped". Runs go one at
a time: the agents share two cores with their broker and their risk model.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass

from aggregator.outcomes import RunOutcome
from aggregator.runs import RunSubmitter
from aggregator.settings import AggregatorSettings, ChallengerSettings
from aggregator.superlink import SuperLinkOptions, SuperLinkProcess
from edgeward.errors import EdgewardError

log = logging.getLogger(__name__)
POLL_S = 1.0


@dataclass(kw_only=True, slots=True)
class ChallengerState:
    """What the service remembers about a challenger between runs (and restarts)."""

    last_started_at: float = 0.0
    last_total_rows: int = 0
    runs: int = 0


class AggregatorService:
    """Run the SuperLink and the challenger schedule until stopped."""

    def __init__(self, settings: AggregatorSettings) -> None:
        self.settings = settings
        self.superlink = SuperLinkProcess(
            SuperLinkOptions(
                host=settings.host,
                port=settings.port,
                state_dir=settings.state_dir,
                ca_file=settings.ca_file,
                cert_file=settings.cert_file,
                key_file=settings.key_file,
                insecure=settings.insecure,
                supernode_auth=settings.supernode_auth,
            )
        )
        self.runs = RunSubmitter(self.superlink, settings.state_dir)
        self._state_file = settings.state_dir / "challengers.json"
        self.states: dict[str, ChallengerState] = self._load_states()

    def start(self) -> None:
        """Start the SuperLink and admit the enrolled SuperNodes' keys."""
        self.settings.registry_dir.mkdir(parents=True, exist_ok=True)
        self.superlink.start()
        if self.settings.supernode_auth and self.settings.supernode_keys_dir is not None:
            for key in sorted(self.settings.supernode_keys_dir.glob("*.pub")):
                try:
                    self.superlink.register_supernode(key)
                    log.info("admitted SuperNode key %s", key.name)
                except EdgewardError as err:
                    log.warning("could not admit %s: %s", key.name, err)

    def stop(self) -> None:
        """Stop the SuperLink."""
        self.superlink.stop()

    def serve(self, stop: threading.Event) -> None:
        """Start due runs, one at a time, until `stop` is set."""
        while not stop.is_set():
            due = self._next_due()
            if due is None:
                stop.wait(POLL_S)
                continue
            try:
                self.run_challenger(due, stop=stop)
            except EdgewardError as err:
                log.error("run of challenger %s failed: %s", due.name, err)

    def run_challenger(
        self, challenger: ChallengerSettings, *, stop: threading.Event | None = None
    ) -> RunOutcome:
        """Submit one run of `challenger` and wait for its outcome."""
        state = self.states.setdefault(challenger.name, ChallengerState())
        state.last_started_at = time.time()
        state.runs += 1
        self._save_states()
        overrides = {
            **challenger.run_config(),
            "min-nodes": challenger.options.get("min-nodes", self.settings.min_nodes),
            "min-new-rows": self.settings.min_new_rows,
            "previous-total-rows": state.last_total_rows,
            "registry-dir": str(self.settings.registry_dir),
            "state-dir": str(self.settings.state_dir),
        }
        run_id = self.runs.submit(overrides)
        log.info("run %s started for challenger %s", run_id, challenger.name)
        outcome = self.runs.wait(run_id, timeout_s=self.settings.run_timeout_s, stop=stop)
        self._keep_log(run_id)
        if outcome.status == "completed":
            state.last_total_rows = outcome.total_rows
        self._save_states()
        log.info(
            "run %s of %s ended: %s %s", run_id, challenger.name, outcome.status, outcome.detail
        )
        return outcome

    def _keep_log(self, run_id: int) -> None:
        """Save the ServerApp's log next to the run's outcome, for whoever investigates."""
        try:
            text = self.superlink.run_log(run_id)
        except (OSError, EdgewardError) as err:
            log.warning("could not fetch the log of run %s: %s", run_id, err)
            return
        path = self.settings.state_dir / "runs" / f"{run_id}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def _next_due(self) -> ChallengerSettings | None:
        now = time.time()
        candidates = [
            c
            for c in self.settings.challengers
            if now - self.states.get(c.name, ChallengerState()).last_started_at
            >= self.settings.interval_s
        ]
        if not candidates:
            return None
        return min(
            candidates, key=lambda c: self.states.get(c.name, ChallengerState()).last_started_at
        )

    def _load_states(self) -> dict[str, ChallengerState]:
        if not self._state_file.exists():
            return {}
        data = json.loads(self._state_file.read_text())
        return {name: ChallengerState(**values) for name, values in data.items()}

    def _save_states(self) -> None:
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({n: asdict(s) for n, s in self.states.items()}))
        temporary.replace(self._state_file)
