"""Agent ingest rate against the ceiling of a bare paho subscriber, on one local mosquitto.

Both consumers drain the same number of QoS 1 messages that the broker queued for them while
they were offline (a persistent session), so the publisher's speed does not limit either.
The ceiling is a paho client that acknowledges and discards; the agent is `edgeward agent
run` as a separate process, which validates, commits and only then acknowledges. Rates are
measured between the first and last message each consumer handled.

Prints one JSON object: agent_msgs_per_s, ceiling_msgs_per_s, ratio, and its goal (>= 0.8).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.mosquitto import Mosquitto, start_mosquitto  # noqa: E402

SITE = "bench"
TOPIC = f"edgeward/{SITE}/{{source}}/metrics"
RECEIVE_MAXIMUM = 1000


def _client(client_id: str) -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )


def _connect_persistent(client: mqtt.Client, broker: Mosquitto) -> None:
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)


def open_session(broker: Mosquitto, client_id: str) -> None:
    """Create a persistent session subscribed at QoS 1, then leave it (messages queue up)."""
    client = _client(client_id)
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    _connect_persistent(client, broker)
    client.loop_start()
    client.subscribe(f"edgeward/{SITE}/+/metrics", qos=1)
    if not subscribed.wait(10):
        raise RuntimeError("subscription was not acknowledged")
    client.disconnect()
    client.loop_stop()


def publish(broker: Mosquitto, count: int, *, sources: int = 20) -> None:
    """Publish `count` realistic single-reading messages at QoS 1, capping messages in flight."""
    client = _client("bench-publisher")
    client.max_inflight_messages_set(200)
    slots = threading.Semaphore(200)
    client.on_publish = lambda *_: slots.release()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    now = time.time()
    infos = []
    for i in range(count):
        source = f"cell-{i % sources:03d}"
        payload = json.dumps(
            {
                "ts": round(now - count + i, 3),
                "source": source,
                "metrics": {
                    "prb_util_dl": 40.0 + i % 50,
                    "prb_util_ul": 20.5,
                    "dl_throughput_mbps": 180.2,
                    "ul_throughput_mbps": 30.1,
                    "active_users": 120 + i % 7,
                    "latency_ms": 12.5,
                    "packet_loss_pct": 0.2,
                    "cpu_pct": 55.0,
                    "temperature_c": 41.5,
                },
            }
        )
        slots.acquire()
        infos.append(client.publish(TOPIC.format(source=source), payload, qos=1))
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()


def measure_ceiling(broker: Mosquitto, count: int) -> float:
    """Drain the queued messages with a bare subscriber that discards them; return msgs/s."""
    times: list[float] = []
    done = threading.Event()

    def on_message(*_: object) -> None:
        times.append(time.perf_counter())
        if len(times) >= count:
            done.set()

    client = _client("bench-ceiling")
    client.on_message = on_message
    _connect_persistent(client, broker)
    client.loop_start()
    if not done.wait(600):
        raise RuntimeError(f"ceiling consumer got {len(times)} of {count}")
    client.disconnect()
    client.loop_stop()
    return (count - 1) / (times[-1] - times[0])


def measure_agent(broker: Mosquitto, count: int, data_dir: Path) -> float:
    """Drain the queued messages with `edgeward agent run`; return stored msgs/s."""
    env = {**os.environ, "EDGEWARD_AGENT__MQTT__RECEIVE_MAXIMUM": str(RECEIVE_MAXIMUM)}
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgeward",
            "agent",
            "run",
            "--site",
            SITE,
            "--data-dir",
            str(data_dir),
            "--mqtt",
            broker.url,
            "--log-level",
            "WARNING",
        ],
        env=env,
    )
    try:
        db = data_dir / "agent.db"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if db.exists() and _stored(db) >= count:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("the agent did not store every message in time")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(60)
    with sqlite3.connect(db) as conn:
        batches = conn.execute(
            "SELECT committed_at, records FROM ingest_batches ORDER BY committed_at"
        ).fetchall()
    first_at, first_records = batches[0]
    last_at = batches[-1][0]
    return (count - first_records) / (last_at - first_at)


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM counters WHERE name = 'records'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def main() -> None:
    """Run both consumers against one broker and print the comparison as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker = start_mosquitto(workdir / "broker")
        try:
            open_session(broker, "bench-ceiling")
            open_session(broker, f"edgeward-agent-{SITE}")
            publish(broker, args.messages)
            ceiling = measure_ceiling(broker, args.messages)
            agent = measure_agent(broker, args.messages, workdir / "agent")
        finally:
            broker.stop()
    print(
        json.dumps(
            {
                "messages": args.messages,
                "qos": 1,
                "agent_msgs_per_s": round(agent, 1),
                "ceiling_msgs_per_s": round(ceiling, 1),
                "ratio": round(agent / ceiling, 3),
                "goals": {"ratio": ">= 0.8"},
            }
        )
    )


if __name__ == "__main__":
    main()
