"""Real agent links for the load benchmark: `python load_swarm.py full ...` runs these.

Each is the agent daemon's own `ControlLink` (CURVE socket, outbox, resumable fetch,
signature and digest checks, unpacking, smoke test, atomic switch) over its own enrolled data
folder, heartbeating at the benchmark's interval. Decision reports go into each link's real
outbox, the path the agent's decision engine takes, so they are resent until acknowledged
and what is left in the outboxes at the end is what the control plane never acknowledged.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks.support.load_messages import decision_message
from edge_agent.control_link import ControlLink
from edge_agent.enrollment import enroll_device, load_identity
from edge_agent.inference import LiveQuality
from edge_agent.model_store import ModelStore
from edge_agent.store import AgentStore
from edge_agent.torch_threads import limit_torch_threads
from edgeward.schema import load_schema

DRAIN_S = 20.0
"""How long outboxes get to empty after the load stops."""


def open_link(root: Path, site: str, heartbeat_s: float) -> ControlLink:
    """Enroll `site` from its bundle into a data folder of its own and build its link."""
    data_dir = root / "agents" / site
    enroll_device(root / "bundles" / f"{site}.bundle", data_dir)
    store = AgentStore.open(data_dir)
    store.register_schema(load_schema())
    models = ModelStore(data_dir)
    return ControlLink(
        identity=load_identity(data_dir),
        store=store,
        models=models,
        quality=LiveQuality(store, models),
        schema_hash=load_schema().content_hash,
        heartbeat_interval_s=heartbeat_s,
        health=dict,
    )


def report_decisions(
    links: list[ControlLink], decision_s: float, stop: threading.Event
) -> Counter[str]:
    """Put each link's decisions in its outbox every `decision_s` (phases spread).

    Returns how many messages of each type were put.
    """
    started = time.monotonic()
    due = [started + 2.0 + decision_s * i / len(links) for i in range(len(links))]
    numbers = [0] * len(links)
    put: Counter[str] = Counter()
    while not stop.wait(max(0.0, min(due) - time.monotonic())):
        for i, link in enumerate(links):
            if time.monotonic() < due[i]:
                continue
            due[i] += decision_s
            numbers[i] += 1
            active = link.models.state()["active"]
            for message in decision_message(
                link.identity.site, numbers[i], model_version=active, at=time.time()
            ):
                link.outbox.put(message)
                put[message.type] += 1
    return put


def full(root: Path, first: int, count: int, heartbeat_s: float, decision_s: float) -> None:
    """Run `count` real links from site `first` until stdin closes; print what they did."""
    limit_torch_threads()  # as the agent daemon does
    links = [open_link(root, f"site-{i:03d}", heartbeat_s) for i in range(first, first + count)]
    for link in links:
        link.start()
    for link in links:
        link.client.connected.wait(30)
    print(json.dumps({"connected": sum(link.client.connected.is_set() for link in links)}))
    sys.stdout.flush()
    stop = threading.Event()
    counted: list[Counter[str]] = []
    worker = threading.Thread(
        target=lambda: counted.append(report_decisions(links, decision_s, stop)), daemon=True
    )
    worker.start()
    sys.stdin.read()
    stop.set()
    worker.join(10)
    deadline = time.monotonic() + DRAIN_S
    while sum(link.outbox.backlog() for link in links) and time.monotonic() < deadline:
        time.sleep(0.2)
    backlog = sum(link.outbox.backlog() for link in links)
    for link in links:
        link.stop()
    print(
        json.dumps(
            {
                "connected": len(links),
                # ControlLink numbers its heartbeats from 1: the last number is how many it sent.
                "heartbeats_sent": sum(link._seq for link in links),
                "decision_reports_put": sum(c["decisions.report"] for c in counted),
                "approval_requests_put": sum(c["decisions.approval_request"] for c in counted),
                "outbox_backlog": backlog,
                "active_versions": dict(
                    Counter(str(link.models.state()["active"]) for link in links)
                ),
            }
        ),
        flush=True,
    )
