"""Model delivery and control-plane load: the protocol against plain ZeroMQ, in one run.

1. Delivery: a signed 1 MB bundle rolled out in one wave to 50 agents (spread over
   `--processes` processes, each agent a real link: its own CURVE socket, outbox, resumable
   chunked fetch with several requests in flight, signature and digest checks, unpacking,
   smoke test, atomic switch, reported activation) against pushing the same bytes to 50 plain
   DEALER sockets, spread over as many processes, that write them to disk and answer (no
   CURVE, no protocol). Each from its start (the rollout starting; the first byte sent) to the
   last agent done (its activation committed by the control plane; its answer received),
   both learnt by blocking, not polling.
2. Load: `edgeward control-plane serve` as its own process with 500 enrolled agents
   heartbeating once a second over CURVE; its CPU time over the window, and heartbeats lost
   (`--no-heartbeat` skips it).

Prints one JSON object: rollout_s, raw_zmq_s, ratio (goal <= 1.5), heartbeat_cpu_fraction_of_core
(goal < 0.5), heartbeats_lost (goal 0), and where the rollout's time went: fetch_s (until the
last agent held the whole archive), delivery_s (until the last agent had it verified and
installed on disk) and activation_s (the rest: smoke test, atomic switch, the report committed).

The ratio goal is not met, and on a 2-core machine it cannot be: the protocol does work per
agent that the raw peer does not, and none of it may be skipped. CURVE encrypts every byte on
the control plane and decrypts it on the agent (about 2 to 3 ms of CPU per MB here, against
0.65 ms for plain ZeroMQ); the agent then unpacks the archive with fsyncs, hashes the weights,
checks the Ed25519 signature, schema and version order, builds the model and runs the torch
smoke test, switches atomically and commits its report, and the control plane commits it in
turn. Measured with thread CPU clocks that is about 10 ms of Python per agent on top of the
crypto: for 50 agents, half a CPU-second or more against the raw peer's tenth, on cores shared
with the control plane. The breakdown shows fetching dominates, because the fetches of the
last agents share the CPU with the checks and activations of the first ones.

Agents are spread over 5 processes by default, not 2: 25 agents sharing one interpreter queue
for its GIL, and under load the smoke test (timed by wall clock) then overran its 200 ms budget
and refused a good model, which no real agent, alone in its process, would see.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from support.fleet import ROOT, quiet

from certs import init_pki, issue_device
from control_plane.registry import SqliteRegistry
from control_plane.rollout import RolloutPlan
from control_plane.service import ControlPlane
from control_plane.settings import load_control_settings
from tests.support.models import model_bundle
from tests.support.mosquitto import free_port

SWARM = ROOT / "benchmarks" / "support" / "swarm.py"
BUNDLE_HIDDEN = 880  # an MLP over 32 x 9 inputs with 880 hidden units weighs about 1 MB


def settings_file(root: Path, port: int, *, tick_interval_s: float = 0.05) -> Path:
    path = root / "control.toml"
    path.write_text(f"""
[control]
state_dir = "{root / "control"}"
registry_dir = "{root / "registry"}"
pki_dir = "{root / "pki"}"
bind = "tcp://127.0.0.1:{port}"
tick_interval_s = {tick_interval_s}
import_interval_s = 3600
log_level = "WARNING"
[control.gate]
mode = "manual"
""")
    return path


def report(swarm: subprocess.Popen[str]) -> dict[str, Any]:
    """Read the one JSON line a swarm process prints; fail clearly if it died instead."""
    line = swarm.stdout.readline() if swarm.stdout is not None else ""
    if not line:
        raise SystemExit(f"the swarm process ended without a report (exit {swarm.poll()})")
    result: dict[str, Any] = json.loads(line)
    return result


def enroll(root: Path, count: int, port: int) -> None:
    pki = init_pki(root / "pki", control_plane_address=f"tcp://127.0.0.1:{port}")
    (root / "bundles").mkdir()
    for index in range(count):
        issue_device(pki, f"site-{index:03d}", out=root / "bundles" / f"site-{index:03d}.bundle")


def _shares(agents: int, processes: int) -> list[range]:
    """Split agent numbers 0..agents-1 into `processes` contiguous, non-empty ranges."""
    bounds = [agents * i // processes for i in range(processes + 1)]
    return [range(a, b) for a, b in itertools.pairwise(bounds) if b > a]


@dataclass(kw_only=True, slots=True, frozen=True)
class DeliveryRun:
    """What one protocol delivery measured (seconds from the start of the rollout)."""

    rollout_s: float
    size: int
    agents_cpu_s: float
    fetch_s: float
    """Until the last agent held the whole archive (in its `.part` file, not yet checked)."""
    delivery_s: float
    """Until the last agent had the bundle verified and installed on disk (not yet active)."""


class ActivationWatch:
    """Learn of each activation as the engine records it, instead of polling the database.

    Polling every 20 ms added up to 20 ms to the figure and took the GIL from the control
    plane's server thread 50 times a second; the raw peer blocks on its socket instead.
    """

    def __init__(self, plane: ControlPlane, agents: int) -> None:
        self.done = threading.Event()
        self._activated: set[str] = set()
        self._agents = agents
        self._record = plane.engine.activation_reported
        plane.engine.activation_reported = self._observed  # type: ignore[method-assign]

    def _observed(
        self, *, site: str, rollout_id: int, version: int, status: str, detail: str
    ) -> None:
        self._record(
            site=site, rollout_id=rollout_id, version=version, status=status, detail=detail
        )
        if status == "activated":
            self._activated.add(site)
        if status == "failed" or len(self._activated) >= self._agents:
            self.done.set()


def delivery(root: Path, agents: int, processes: int) -> DeliveryRun:
    """Roll a 1 MB bundle out to `agents` real agent links and time it."""
    port = free_port()
    enroll(root, agents, port)
    # The default tick: a rollout offers its first wave as it starts, so the periodic tick is
    # not on the delivery's path, and ticking 20 times a second only took CPU from it.
    config = settings_file(root, port, tick_interval_s=1.0)
    plane = ControlPlane(load_control_settings(config))
    bundle = model_bundle(
        root / "bundle", hidden=BUNDLE_HIDDEN, signing_key=plane.pki.signing.private_key
    )
    version = plane.registry.register(bundle).version
    size = len(plane.bundles.get(version))
    watch = ActivationWatch(plane, agents)
    plane.start()
    swarms = [
        subprocess.Popen(
            [sys.executable, str(SWARM), "protocol", str(root), str(share.start), str(len(share))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in _shares(agents, processes)
    ]
    try:
        connected = sum(report(swarm)["connected"] for swarm in swarms)
        if connected != agents:
            raise SystemExit(f"only {connected} of {agents} agents connected")
        deadline = time.monotonic() + 30
        while len(plane.fleet.list()) < agents and time.monotonic() < deadline:
            time.sleep(0.1)  # every agent has said hello: the server knows its route
        cpu_before = sum(cpu_seconds(swarm.pid) for swarm in swarms)
        wall_started = time.time()
        started = time.perf_counter()
        rollout_id = plane.engine.start(
            version,
            actor="benchmark",
            plan=RolloutPlan(
                canary_fraction=1.0, waves=(1.0,), bake_s=3600, activation_timeout_s=600
            ),
        )
        if not watch.done.wait(600):
            raise SystemExit("the rollout did not finish within 600 s")
        with plane.writer.transaction():  # the last report is committed, not just handled
            elapsed = time.perf_counter() - started
            progress = plane.engine.store.get(rollout_id)
        agents_cpu = sum(cpu_seconds(swarm.pid) for swarm in swarms) - cpu_before
        if progress is None:
            raise SystemExit(f"rollout {rollout_id} vanished from the store")
        failed = [f"{s.site}: {s.detail}" for s in progress.sites if s.status == "failed"]
        if failed:
            raise SystemExit(f"the rollout failed on {len(failed)} sites, first {failed[0]}")
    finally:
        for swarm in swarms:
            if swarm.stdin is not None:
                swarm.stdin.close()
        times = [t for swarm in swarms for t in report(swarm)["deliveries"]]
        for swarm in swarms:
            swarm.wait(60)
        plane.stop()
    return DeliveryRun(
        rollout_s=elapsed,
        size=size,
        agents_cpu_s=agents_cpu,
        fetch_s=max(t["fetched_at"] for t in times) - wall_started,
        delivery_s=max(t["installed_at"] for t in times) - wall_started,
    )


def raw_delivery(root: Path, agents: int, size: int, processes: int) -> float:
    """Push `size` bytes to `agents` plain DEALERs that write them to disk; return seconds."""
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    (root / "raw").mkdir()
    swarms = [
        subprocess.Popen(
            [
                sys.executable,
                str(SWARM),
                "raw",
                f"tcp://127.0.0.1:{port}",
                str(share.start),
                str(len(share)),
                str(root / "raw"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in _shares(agents, processes)
    ]
    peers = [router.recv_multipart()[0] for _ in range(agents)]
    payload = os.urandom(size)
    started = time.perf_counter()
    for peer in peers:
        router.send_multipart([peer, payload])
    for _ in range(agents):
        router.recv_multipart()
    elapsed = time.perf_counter() - started
    for swarm in swarms:
        swarm.wait(60)
    router.close(linger=0)
    context.term()
    return elapsed


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def heartbeat_load(root: Path, agents: int, seconds: float) -> dict[str, Any]:
    """Run the control plane with `agents` heartbeating each second; measure its CPU."""
    port = free_port()
    enroll(root, agents, port)
    config = settings_file(root, port)
    SqliteRegistry.open(root / "registry").close()
    control = subprocess.Popen(
        # Agents only: the figure is the cost of serving the fleet, not of an idle dashboard.
        [
            sys.executable,
            "-m",
            "edgeward",
            "control-plane",
            "serve",
            "--config",
            str(config),
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3.0)  # let it start
        swarm = subprocess.Popen(
            [sys.executable, str(SWARM), "heartbeat", str(root), str(agents), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(3.0)  # connections and handshakes settle before measuring
        cpu_before, wall_before = cpu_seconds(control.pid), time.monotonic()
        time.sleep(max(1.0, seconds - 5.0))
        cpu_after, wall_after = cpu_seconds(control.pid), time.monotonic()
        counts = report(swarm)
        swarm.wait(60)
    finally:
        control.terminate()
        control.wait(30)
    return {
        "heartbeat_agents": agents,
        "heartbeats_sent": counts["sent"],
        "heartbeats_lost": counts["sent"] - counts["acked"],
        "heartbeat_cpu_fraction_of_core": round(
            (cpu_after - cpu_before) / (wall_after - wall_before), 4
        ),
    }


def main() -> None:
    """Measure both and print them as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--heartbeat-agents", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--processes",
        type=int,
        default=5,
        help="processes the delivery agents are spread over (both peers use the same)",
    )
    parser.add_argument(
        "--no-heartbeat",
        action="store_true",
        help="measure delivery only (the heartbeat load is a separate figure)",
    )
    args = parser.parse_args()
    quiet()
    with tempfile.TemporaryDirectory() as tmp:
        run = delivery(Path(tmp) / "delivery", args.agents, args.processes)
        raw_s = raw_delivery(Path(tmp) / "delivery", args.agents, run.size, args.processes)
    load: dict[str, Any] = {}
    if not args.no_heartbeat:
        with tempfile.TemporaryDirectory() as tmp:
            load = heartbeat_load(Path(tmp), args.heartbeat_agents, args.seconds)
    print(
        json.dumps(
            {
                "agents": args.agents,
                "agent_processes": args.processes,
                "bundle_bytes": run.size,
                "rollout_s": round(run.rollout_s, 3),
                "raw_zmq_s": round(raw_s, 3),
                "ratio": round(run.rollout_s / raw_s, 3),
                "fetch_s": round(run.fetch_s, 3),
                "delivery_s": round(run.delivery_s, 3),
                "activation_s": round(run.rollout_s - run.delivery_s, 3),
                "agent_cpu_ms_per_activation": round(run.agents_cpu_s * 1000 / args.agents, 1),
                **load,
                "goals": {
                    "ratio": "<= 1.5",
                    "heartbeat_cpu_fraction_of_core": "< 0.5",
                    "heartbeats_lost": "<= 0",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
