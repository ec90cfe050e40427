"""Time records through MQTT to the action they call for, one record at a time.

A `Probe` publishes metric records and listens on every actions topic of the broker;
`measure` publishes each record, waits for the `raise_alarm` on its cell and keeps the time in
between. `Marks` collects, for the record in flight, when it passed each stage of the agent's
path (set by hooks the benchmark installs). `relay` is the peer: a bare paho client that
answers each record with an action, through the same broker.
"""

from __future__ import annotations

import itertools
import json
import math
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.mosquitto import Mosquitto

CALM: Final = {"prb_util_dl": 40.0, "active_users": 60, "cpu_pct": 50.0}
JUMP: Final = 30.0  # CPU points: an anomaly score of 30 / sqrt(3) against a last-value forecast
MAX_PAUSE_S: Final = 0.04  # two periods of the agent's batching timers (20 ms by default)
STAGES: Final = ("received", "stored", "observing", "acting")
STAGE_SPANS: Final = ("broker_to_writer", "writer_commit", "handoff", "decide", "action_delivery")


@dataclass
class Marks:
    """When a record passed each stage of the agent's path (the first time, per record)."""

    at: dict[str, float] = field(default_factory=dict)

    def hit(self, stage: str) -> None:
        """Note that the current record reached `stage` now."""
        self.at.setdefault(stage, time.perf_counter())


@dataclass
class Probe:
    """A publisher and a subscriber on the broker; the subscriber queues what arrives."""

    feed: mqtt.Client
    listener: mqtt.Client
    inbox: queue.Queue[tuple[float, str, dict[str, Any]]]

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Publish `payload` as JSON at QoS 1."""
        self.feed.publish(topic, json.dumps(payload), qos=1)

    def close(self) -> None:
        """Disconnect both clients."""
        for client in (self.feed, self.listener):
            client.disconnect()
            client.loop_stop()


def _client(client_id: str, port: int) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def open_probe(broker: Mosquitto) -> Probe:
    """Connect a publisher and a subscriber to every actions topic."""
    inbox: queue.Queue[tuple[float, str, dict[str, Any]]] = queue.Queue()
    subscribed = threading.Event()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="ops")
    listener.on_message = lambda _c, _u, m: inbox.put(
        (time.perf_counter(), m.topic, json.loads(m.payload))
    )
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.connect("127.0.0.1", broker.port)
    listener.loop_start()
    listener.subscribe("edgeward/+/+/actions", qos=1)
    if not subscribed.wait(10):
        raise SystemExit("the broker did not acknowledge the actions subscription")
    return Probe(feed=_client("feed", broker.port), listener=listener, inbox=inbox)


@dataclass
class Run:
    """Latencies of the records whose action arrived, and what went wrong with the others."""

    latencies_ms: list[float] = field(default_factory=list)
    stages_ms: dict[str, list[float]] = field(default_factory=dict)
    lost: int = 0
    unexpected: int = 0
    not_low: int = 0


def cell(index: int) -> str:
    """Return the name of cell number `index`."""
    return f"cell-{index:03d}"


def measure(
    probe: Probe,
    site: str,
    *,
    cells: int,
    first: int,
    count: int,
    timeout_s: float,
    marks: Marks | None = None,
    progress: Callable[[], None] = lambda: None,
    max_pause_s: float = MAX_PAUSE_S,
    seed: int = 0,
) -> Run:
    """Publish records `first`..`first+count-1` one at a time; time each to its alarm."""
    run = Run()
    pauses = random.Random(seed)
    for index in range(first, first + count):
        source = cell(index % cells)
        cpu = CALM["cpu_pct"] + (JUMP if (index // cells) % 2 == 0 else 0.0)
        payload = {"ts": time.time(), "source": source, "metrics": {**CALM, "cpu_pct": cpu}}
        while not probe.inbox.empty():  # a late answer to an earlier record
            probe.inbox.get_nowait()
            run.unexpected += 1
        if marks is not None:
            marks.at.clear()
        # Arrive at a random moment: a fixed rhythm would lock onto the agent's batch timers.
        time.sleep(pauses.uniform(0.0, max_pause_s))
        sent = time.perf_counter()
        probe.publish(f"edgeward/{site}/{source}/metrics", payload)
        arrived = _await_alarm(probe, source, sent + timeout_s, run)
        if arrived is None:
            run.lost += 1
        else:
            run.latencies_ms.append((arrived - sent) * 1000)
            if marks is not None:
                _add_stages(run, marks, sent, arrived)
        progress()
    return run


def _await_alarm(probe: Probe, source: str, deadline: float, run: Run) -> float | None:
    while (left := deadline - time.perf_counter()) > 0:
        try:
            arrived, _topic, message = probe.inbox.get(timeout=left)
        except queue.Empty:
            return None
        if message.get("action") == "raise_alarm" and message.get("target") == source:
            return arrived
        run.unexpected += 1
    return None


def _add_stages(run: Run, marks: Marks, sent: float, arrived: float) -> None:
    times = [sent, *(marks.at.get(stage, math.nan) for stage in STAGES), arrived]
    for name, (start, end) in zip(STAGE_SPANS, itertools.pairwise(times), strict=True):
        run.stages_ms.setdefault(name, []).append((end - start) * 1000)


def relay(broker: Mosquitto) -> mqtt.Client:
    """Start a bare paho client that republishes every echo record as an action."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="relay")
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        source = json.loads(message.payload)["source"]
        answer = {"action": "raise_alarm", "target": source}
        client.publish(f"edgeward/echo/{source}/actions", json.dumps(answer), qos=1)

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.subscribe("edgeward/echo/+/metrics", qos=1)
    if not subscribed.wait(10):
        raise SystemExit("the broker did not acknowledge the relay's subscription")
    return client
