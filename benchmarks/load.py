"""Control-plane load: 200 agents for ten minutes, with heartbeats, decision reports and a rollout.

`edgeward control-plane serve --no-dashboard` runs as its own process against enrolled agents
with real CURVE sockets and keys (benchmarks/support/load_swarm.py): by default 190 light
protocol speakers in one process and 10 real agent links (the daemon's `ControlLink`) in
another (real links activate in one process here, not on devices of their own: more of them
would measure the load generator's CPU, and time out their smoke tests, more than the control
plane). Every agent heartbeats once a second (ten times the default interval: the heartbeats
of 200 agents here weigh like those of 2,000 at the default) and reports a decision every
10 s; every tenth decision is high risk and also asks for approval (left to expire after
120 s). A quarter of the way in, one rollout of a signed 1 MB bundle starts over the whole
fleet: canary, then waves, each baking for duration / 40 s. Light agents fetch the bundle
and check its digest; real links verify, unpack, smoke-test and switch.

Measured from outside: the control plane's CPU time and peak RSS (/proc/<pid>), the
handling-time percentiles of its ZeroMQ server (<state_dir>/server-stats.json, rewritten every
5 s over its last 8,192 messages; the worst window is reported), what agents sent against
what the control plane acknowledged and stored (its database, read after it stopped), and
the rollout's end state and duration. Heartbeats are counted on the light agents, which
number theirs; a real link drops one by design while it is still connecting.

Handling time runs from a message's receipt to its reply; the wait in the socket's queue
before it is not in it. The light agents' round trips (`heartbeat_rtt_*`) include that wait,
and the generator's own delays (`load_generator_lateness_p99_ms`: how late heartbeats left);
`heartbeat_rtt_p99_ms_outside_fetches` leaves out heartbeats sent while a bundle download was
under way, when a wave's 1 MB chunks fill the queues.

Goals, each against this run's own figures: CPU under half a core over the loaded window (as
for 500 heartbeating agents in rollout.py); handling p99 under 50 ms in the worst window;
nothing lost (sent minus stored) or left unanswered, no server error; the rollout completed
while the load ran; peak RSS no more than 256 MB above the idle control plane's.

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: E402

from benchmarks.support.load_figures import cpu_seconds, delivery, handling, memory_mb  # noqa: E402
from certs import init_pki, issue_device, load_pki  # noqa: E402
from control_plane.local import LocalPlane, open_local  # noqa: E402
from control_plane.registry import SqliteRegistry  # noqa: E402
from control_plane.rollout import RolloutPlan  # noqa: E402
from control_plane.server_stats_file import read_server_stats  # noqa: E402
from tests.support.models import model_bundle  # noqa: E402
from tests.support.mosquitto import free_port  # noqa: E402

SWARM = ROOT / "benchmarks" / "support" / "load_swarm.py"
BUNDLE_HIDDEN = 880  # an MLP over 32 x 9 inputs with 880 hidden units weighs about 1 MB
TERMINAL = ("completed", "rolled_back", "aborted")
RSS_GROWTH_GOAL_MB = 256


def rollout_plan(duration_s: float) -> RolloutPlan:
    """Return the default waves with bakes scaled so the rollout ends well inside the run.

    Real links report no live samples (they have no data), so each wave waits its bake and
    then as long again before it passes on activation alone: about 6 bakes in all.
    """
    bake = max(2.0, duration_s / 40)
    return RolloutPlan(bake_s=bake, max_bake_extension_s=bake, offer_resend_s=min(10.0, bake))


def write_settings(root: Path, port: int, heartbeat_s: float) -> Path:
    """Write the control plane's settings: production intervals, quiet logs, manual gate."""
    path = root / "control.toml"
    path.write_text(f"""
[control]
state_dir = "{root / "control"}"
registry_dir = "{root / "registry"}"
pki_dir = "{root / "pki"}"
bind = "tcp://127.0.0.1:{port}"
heartbeat_interval_s = {heartbeat_s}
log_level = "WARNING"
[control.gate]
mode = "manual"
""")
    return path


def prepare(root: Path, agents: int, heartbeat_s: float) -> tuple[Path, int]:
    """Make the PKI, enroll the agents, register a signed bundle; return settings and version."""
    port = free_port()
    pki = init_pki(root / "pki", control_plane_address=f"tcp://127.0.0.1:{port}")
    (root / "bundles").mkdir()
    for index in range(agents):
        issue_device(pki, f"site-{index:03d}", out=root / "bundles" / f"site-{index:03d}.bundle")
    signing_key = load_pki(root / "pki").signing.private_key
    bundle = model_bundle(root / "bundle", hidden=BUNDLE_HIDDEN, signing_key=signing_key)
    with SqliteRegistry.open(root / "registry") as registry:
        version = registry.register(bundle).version
    return write_settings(root, port, heartbeat_s), version


def spawn(args: list[str], **options: Any) -> subprocess.Popen[str]:
    """Start a child with a pipe for stdin (closing it ends a swarm) and for stdout."""
    return subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **options
    )


def read_json(child: subprocess.Popen[str]) -> dict[str, Any]:
    """Read one JSON line a child prints; fail clearly if it died instead."""
    line = child.stdout.readline() if child.stdout is not None else ""
    if not line:
        raise SystemExit(f"a load process ended without a report (exit {child.poll()})")
    result: dict[str, Any] = json.loads(line)
    return result


@dataclass(slots=True)
class Watch:
    """What is sampled during the run: the server's stats snapshots and the rollout's span."""

    control_pid: int
    state_dir: Path
    snapshots: dict[float, dict[str, Any]] = field(default_factory=dict)
    rollout_id: int | None = None
    rollout_span: list[tuple[float, float]] = field(default_factory=list)
    """(monotonic time, control-plane CPU seconds) when the rollout started and ended."""

    def sample_stats(self) -> dict[str, Any] | None:
        """Keep the newest snapshot of the server's stats; return it."""
        stats = read_server_stats(self.state_dir)
        if stats is not None:
            self.snapshots[stats["at"]] = stats
        return stats

    def start_rollout(self, plane: LocalPlane, version: int, duration_s: float) -> None:
        """Start the rollout over the whole fleet, as an operator on the host would."""
        self.rollout_id = plane.engine.start(
            version, actor="load-benchmark", plan=rollout_plan(duration_s)
        )
        self.rollout_span.append((time.monotonic(), cpu_seconds(self.control_pid)))

    def rollout_state(self, plane: LocalPlane) -> str:
        """Return the rollout's status (its wave's while running); note when it ends."""
        found = plane.engine.store.get(self.rollout_id) if self.rollout_id else None
        if found is None:
            return "not started"
        if found.status in TERMINAL and len(self.rollout_span) == 1:
            self.rollout_span.append((time.monotonic(), cpu_seconds(self.control_pid)))
        if found.status != "running":
            return found.status
        return f"wave {found.current_wave} {found.waves[found.current_wave].status}"


def drive(plane: LocalPlane, watch: Watch, args: argparse.Namespace, version: int) -> None:
    """Run the loaded window: sample every second, start the rollout a quarter of the way in."""
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    started = last = time.monotonic()
    last_cpu = cpu_seconds(watch.control_pid)
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("load", total=args.duration)
        while (now := time.monotonic()) - started < args.duration:
            if watch.rollout_id is None and now - started >= args.duration / 4:
                watch.start_rollout(plane, version, args.duration)
            stats = watch.sample_stats() or {}
            cpu = cpu_seconds(watch.control_pid)
            rate, last, last_cpu = (cpu - last_cpu) / max(1e-3, now - last), now, cpu
            progress.update(
                task,
                completed=now - started,
                description=(
                    f"cpu {rate:.2f} core | rss {memory_mb(watch.control_pid, 'VmRSS'):.0f} MB"
                    f" | p99 {stats.get('handling_p99_ms', 0.0):.1f} ms"
                    f" | rollout {watch.rollout_state(plane)}"
                ),
            )
            time.sleep(1.0)


def wait_for_fleet(plane: LocalPlane, agents: int, timeout_s: float = 60.0) -> None:
    """Wait until every agent has said hello (the rollout goes to the fleet the plane knows)."""
    deadline = time.monotonic() + timeout_s
    while (known := len(plane.fleet.list())) < agents:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {known} of {agents} agents said hello")
        time.sleep(0.5)


def start_control(config: Path, state_dir: Path) -> subprocess.Popen[bytes]:
    """Start `edgeward control-plane serve` (agents only) and wait until it serves."""
    serve = ["control-plane", "serve", "--config", str(config), "--no-dashboard"]
    # Agents only: the figure is the cost of serving the fleet, not of an idle dashboard.
    # Its warnings go to a log beside its state rather than through the progress display.
    with (state_dir.parent / "control-plane.log").open("ab") as log:
        control = subprocess.Popen(
            [sys.executable, "-m", "edgeward", *serve], stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while read_server_stats(state_dir) is None:  # the stats file is written once it serves
        if control.poll() is not None or time.monotonic() > deadline:
            control.kill()
            raise SystemExit(f"the control plane did not start; see {log.name}")
        time.sleep(0.2)
    return control


def start_swarms(root: Path, args: argparse.Namespace, swarms: list[subprocess.Popen[str]]) -> None:
    """Start the real links (sites 0 to full-1), then the light agents (the rest), into `swarms`."""
    rates = [str(args.heartbeat_s), str(args.decision_s)]
    full = [str(root), "0", str(args.full_agents), *rates]
    swarms.append(spawn([sys.executable, str(SWARM), "full", *full]))
    connected = read_json(swarms[0])["connected"]
    if connected != args.full_agents:
        raise SystemExit(f"only {connected} of {args.full_agents} real agent links connected")
    light = [str(root), str(args.full_agents), str(args.agents - args.full_agents), *rates]
    swarms.append(spawn([sys.executable, str(SWARM), "light", *light]))


def stop(control: subprocess.Popen[bytes], swarms: list[subprocess.Popen[str]]) -> None:
    """End the swarms (closing stdin lets them drain) and then the control plane."""
    for swarm in swarms:
        if swarm.stdin is not None and not swarm.stdin.closed:
            swarm.stdin.close()
    for swarm in swarms:
        try:
            swarm.wait(40)
        except subprocess.TimeoutExpired:
            swarm.kill()
            swarm.wait()
    control.terminate()  # SIGTERM: it stops cleanly and writes its stats file once more
    control.wait(60)


def run(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Serve the fleet for `args.duration` seconds under load; return the figures."""
    config, version = prepare(root, args.agents, args.heartbeat_s)
    control = start_control(config, root / "control")
    watch = Watch(control_pid=control.pid, state_dir=root / "control")
    swarms: list[subprocess.Popen[str]] = []
    try:
        plane = open_local(config)
        idle_rss = memory_mb(control.pid, "VmRSS")
        start_swarms(root, args, swarms)
        wait_for_fleet(plane, args.agents)
        watch.snapshots.clear()  # percentiles from here on: the loaded window
        before = (time.monotonic(), cpu_seconds(control.pid), sum(map(cpu_of, swarms)))
        drive(plane, watch, args, version)
        after = (time.monotonic(), cpu_seconds(control.pid), sum(map(cpu_of, swarms)))
        for swarm in swarms:
            if swarm.stdin is not None:
                swarm.stdin.close()  # stop sending; each waits for the answers still due
        full, light = (read_json(swarm) for swarm in swarms)
        rollout_state = watch.rollout_state(plane)
        peak_rss = memory_mb(control.pid, "VmHWM")
    finally:
        stop(control, swarms)
    final = read_server_stats(root / "control") or {}
    window_s = after[0] - before[0]
    light_sites = {f"site-{i:03d}" for i in range(args.full_agents, args.agents)}
    counts = plane.approvals.store.counts()
    resources = {
        "control_plane_cpu_fraction_of_core": round((after[1] - before[1]) / window_s, 4),
        "control_plane_cpu_fraction_during_rollout": _rollout_cpu(watch),
        "control_plane_rss_idle_mb": round(idle_rss, 1),
        "control_plane_rss_peak_mb": round(peak_rss, 1),
        "control_plane_rss_growth_mb": round(peak_rss - idle_rss, 1),
        # The machine is shared: its load says how much of the figures is other people's work.
        "machine_load_avg_1m": round(os.getloadavg()[0], 2),
        "machine_cores": os.cpu_count(),
        "load_generator_cpu_fraction_of_core": round((after[2] - before[2]) / window_s, 4),
    }
    stored = {
        "heartbeats": sum(s.heartbeats for s in plane.fleet.list() if s.site in light_sites),
        "decision_reports": sum(counts.reports_by_outcome.values()),
        "approval_requests": sum(counts.approvals_by_status.values()),
    }
    return {
        **resources,
        **handling(list(watch.snapshots.values()), final, window_s),
        **delivery(light, full, stored),
        **rollout_figures(plane, watch, rollout_state),
    }


def cpu_of(child: subprocess.Popen[str]) -> float:
    """Return a child's CPU seconds."""
    return cpu_seconds(child.pid)


def _rollout_cpu(watch: Watch) -> float | None:
    if len(watch.rollout_span) < 2:
        return None
    (start, cpu_start), (end, cpu_end) = watch.rollout_span
    return round((cpu_end - cpu_start) / max(1e-3, end - start), 4)


def rollout_figures(plane: LocalPlane, watch: Watch, state: str) -> dict[str, Any]:
    """Return how the rollout ended, how long it took and how far it got."""
    found = plane.engine.store.get(watch.rollout_id) if watch.rollout_id else None
    span = watch.rollout_span
    return {
        "rollout_state": state,
        "rollout_completed": int(state == "completed"),
        "rollout_reason": found.reason if found else "",
        "rollout_s": round(span[1][0] - span[0][0], 1) if len(span) == 2 else None,
        "rollout_waves": len(found.waves) if found else 0,
        "rollout_bake_s": found.plan.bake_s if found else None,
        "rollout_sites": len(found.sites) if found else 0,
        "rollout_sites_activated": sum(s.status == "activated" for s in found.sites)
        if found
        else 0,
    }


def main() -> None:
    """Run the load and print its figures as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--full-agents", type=int, default=10, help="real agent links among them")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds under load")
    parser.add_argument("--heartbeat-s", type=float, default=1.0)
    parser.add_argument("--decision-s", type=float, default=10.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(Path(tmp), args)
    print(
        json.dumps(
            {
                "agents": args.agents,
                "real_agent_links": args.full_agents,
                "duration_s": args.duration,
                "heartbeat_interval_s": args.heartbeat_s,
                "decision_interval_s": args.decision_s,
                **figures,
                "goals": {
                    "control_plane_cpu_fraction_of_core": "< 0.5",
                    "handling_p99_ms": "< 50",
                    "heartbeats_lost": "<= 0",
                    "decision_reports_lost": "<= 0",
                    "approval_requests_lost": "<= 0",
                    "unanswered_messages": "<= 0",
                    "control_plane_errors": "<= 0",
                    "rollout_completed": ">= 1",
                    "control_plane_rss_growth_mb": f"< {RSS_GROWTH_GOAL_MB}",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
