"""Decision latency: from a metric record arriving over MQTT to its low-risk action published.

A real mosquitto broker on a free loopback port, and the agent's real ingest and decision path
in this process (`AgentDaemon`: the MQTT receiver process, the writer, the observer running
the active model, the policy, risk screening, the journal and the MQTT action sink), with a
signed model installed and activated as the agent does it. Settings: no LLM layer, no
cooldown, no peak hours, no control plane.

Every measured record moves one cell's CPU by 30 points against its last reading; the active
model (a residual MLP, which starts out forecasting the last value) scores that as an anomaly,
and the policy raises an alarm, which is low risk and runs at once. Each cell gets at most
three alarms, so the "repeated action" guardrail never lifts one to medium. Records are
published one at a time (QoS 1); each waits for its `raise_alarm` on the cell's actions topic.

The peer, in the same run: a bare paho relay that republishes each record on the actions topic
(the same two broker hops with no work in between), through the same broker and clients.

Prints one JSON object: p50_ms, p99_ms (goal < 50), mean_ms, max_ms, lost (records whose
action did not arrive in time), mqtt_roundtrip_p50_ms/_p99_ms (the relay), and the p50 and
p99 of each stage of the agent's path.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support.action_probe import CALM, Marks, Probe, Run, cell, measure, open_probe, relay  # noqa: E402

from certs import init_pki  # noqa: E402
from edge_agent.daemon import AgentDaemon  # noqa: E402
from edge_agent.decisions.mqtt_actions import MqttActionSink  # noqa: E402
from edge_agent.decisions.stack import DecisionStack  # noqa: E402
from edge_agent.model_store import ModelStore, activate_bundle  # noqa: E402
from edge_agent.settings import (  # noqa: E402
    AgentSettings,
    ControlSettings,
    DecisionsSettings,
    IngestSettings,
    MqttSettings,
)
from edgeward.schema import load_schema  # noqa: E402
from tests.support.models import archive_of, model_bundle  # noqa: E402
from tests.support.mosquitto import Mosquitto, start_mosquitto  # noqa: E402

SITE = "bench"
GOAL_P99_MS = 50.0
ALARMS_PER_CELL = 3  # the "repeated action" guardrail makes the 4th alarm in an hour medium
console = Console(stderr=True)


def install_model(data_dir: Path, work: Path) -> None:
    """Sign a real model bundle and activate it in the agent's model store."""
    pki = init_pki(work / "pki", control_plane_address="tcp://127.0.0.1:7")
    bundle = model_bundle(work / "bundle", signing_key=pki.signing.private_key)
    activate_bundle(
        ModelStore(data_dir),
        archive_of(bundle, work / "bundle.tar"),
        version=1,
        signing_key=pki.signing.public_key,
        schema_hash=load_schema().content_hash,
    )


def agent_settings(data_dir: Path, broker: Mosquitto, writer_wait_ms: int | None) -> AgentSettings:
    """Return the agent's settings: low-risk actions run at once, nothing else is attached."""
    ingest = (
        IngestSettings()
        if writer_wait_ms is None
        else IngestSettings(writer_wait_ms=writer_wait_ms)
    )
    return AgentSettings(
        site=SITE,
        data_dir=data_dir,
        log_level="WARNING",
        mqtt=MqttSettings(url=broker.url),
        ingest=ingest,
        control=ControlSettings(enabled=False),
        decisions=DecisionsSettings(peak_hours=(), cooldown_s=0.0, llm_enabled=False),
    )


def decision_stack(daemon: AgentDaemon) -> DecisionStack:
    """Return the agent's decision path (the settings here always enable it)."""
    if daemon.decisions is None:
        raise SystemExit("the agent was built without its decision path")
    return daemon.decisions


def instrument(daemon: AgentDaemon, marks: Marks) -> None:
    """Mark each stage as a record passes it (the benchmark's own hooks, no behaviour change)."""
    writer = daemon.stack.writer
    submit = writer.submit

    def timed_submit(item: Any, timeout: float | None = None) -> None:
        marks.hit("received")
        submit(item, timeout)

    writer.submit = timed_submit  # type: ignore[method-assign]
    # First in line: marked as soon as the commit is done, before the decision path hears of it.
    writer.on_stored.insert(0, lambda records: marks.hit("stored") if records else None)
    observer = decision_stack(daemon).observer
    observe = observer.observe

    def timed_observe(record: Any) -> Any:
        marks.hit("observing")
        return observe(record)

    observer.observe = timed_observe  # type: ignore[method-assign]
    execute = MqttActionSink.execute

    def timed_execute(sink: MqttActionSink, decision: Any) -> None:
        marks.hit("acting")
        execute(sink, decision)

    MqttActionSink.execute = timed_execute  # type: ignore[method-assign]


def warm_cells(probe: Probe, daemon: AgentDaemon, cells: int, window: int) -> None:
    """Fill every cell's model window with calm readings; wait until all were observed."""
    observer = decision_stack(daemon).observer
    now = time.time()
    for step in range(window):
        for index in range(cells):
            payload = {"ts": now - window + step, "source": cell(index), "metrics": CALM}
            probe.publish(f"edgeward/{SITE}/{cell(index)}/metrics", payload)
    deadline = time.monotonic() + 60
    while observer.processed < cells * window:
        if time.monotonic() > deadline:
            raise SystemExit("the agent did not observe the warm-up readings within 60 s")
        time.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    """Return the `q`th percentile of `values`, rounded to 0.01 (NaN if there are none)."""
    return round(float(np.percentile(values, q)), 2) if values else math.nan


def run_agent(broker: Mosquitto, probe: Probe, work: Path, args: argparse.Namespace) -> Run:
    """Run the agent in this process and time `args.records` records through it."""
    data_dir = work / "agent"
    install_model(data_dir, work)
    window = int(ModelStore(data_dir).load(1).bundle.manifest.model_spec["window"])
    cells = math.ceil((args.warmup + args.records) / ALARMS_PER_CELL)
    daemon = AgentDaemon(agent_settings(data_dir, broker, args.writer_wait_ms))
    marks = Marks()
    instrument(daemon, marks)
    daemon.start()
    try:
        if daemon.mqtt is None or not daemon.mqtt.connected.wait(60):
            raise SystemExit("the agent did not subscribe within 60 s")
        with Progress(console=console, transient=True) as bar:
            bar.add_task(f"warming {cells} cells x {window} readings", total=None)
            warm_cells(probe, daemon, cells, window)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("agent", total=args.warmup + args.records)
            common = {"cells": cells, "timeout_s": args.timeout_s}
            tick = lambda: bar.advance(task)  # noqa: E731
            measure(probe, SITE, first=0, count=args.warmup, progress=tick, **common)
            run = measure(
                probe,
                SITE,
                first=args.warmup,
                count=args.records,
                marks=marks,
                progress=tick,
                **common,
            )
        rows = decision_stack(daemon).journal.newest(limit=10 * (args.warmup + args.records))
        run.not_low = sum(1 for row in rows if (row.level, row.status) != ("low", "executed"))
    finally:
        daemon.stop()
    return run


def run_relay(broker: Mosquitto, probe: Probe, args: argparse.Namespace) -> Run:
    """Time the same records through a bare paho relay (two broker hops, no work)."""
    client = relay(broker)
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("relay", total=args.warmup + args.records)
            tick = lambda: bar.advance(task)  # noqa: E731
            # No batching timers to fall in step with: no random pauses needed.
            common = {"cells": 10, "timeout_s": args.timeout_s, "progress": tick, "max_pause_s": 0}
            measure(probe, "echo", first=0, count=args.warmup, **common)
            return measure(probe, "echo", first=args.warmup, count=args.records, **common)
    finally:
        client.disconnect()
        client.loop_stop()


def summary(agent: Run, peer: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Return the figures as one JSON-ready object."""
    ms = agent.latencies_ms
    return {
        "records": args.records,
        "n": len(ms),
        "lost": agent.lost,
        "unexpected_actions": agent.unexpected,
        "decisions_not_low_and_executed": agent.not_low,
        "writer_wait_ms": (
            IngestSettings().writer_wait_ms if args.writer_wait_ms is None else args.writer_wait_ms
        ),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": round(float(np.mean(ms)), 2) if ms else math.nan,
        "max_ms": round(max(ms), 2) if ms else math.nan,
        "goal_p99_ms": GOAL_P99_MS,
        "mqtt_roundtrip_p50_ms": percentile(peer.latencies_ms, 50),
        "mqtt_roundtrip_p99_ms": percentile(peer.latencies_ms, 99),
        "stages_p50_ms": {k: percentile(v, 50) for k, v in agent.stages_ms.items()},
        "stages_p99_ms": {k: percentile(v, 99) for k, v in agent.stages_ms.items()},
        "goals": {"p99_ms": f"< {GOAL_P99_MS:g}", "lost": "<= 0"},
    }


def main() -> None:
    """Measure the relay, then the agent, on one broker; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500, help="records timed (default 500)")
    parser.add_argument("--warmup", type=int, default=20, help="records sent first, not timed")
    parser.add_argument("--timeout-s", type=float, default=2.0, help="wait per action (s)")
    parser.add_argument(
        "--writer-wait-ms",
        type=int,
        default=None,
        help="the agent's ingest.writer_wait_ms (default: the agent's own default)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = start_mosquitto(work / "broker")
        try:
            probe = open_probe(broker)
            try:
                peer = run_relay(broker, probe, args)
                agent = run_agent(broker, probe, work, args)
            finally:
                probe.close()
        finally:
            broker.stop()
    print(json.dumps(summary(agent, peer, args)))


if __name__ == "__main__":
    main()
