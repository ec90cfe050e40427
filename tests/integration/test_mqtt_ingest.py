"""MQTT ingestion end to end: real mosquitto with TLS client certificates, real agent process."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from edgeward.simulator import (
    BAD_PAYLOAD_KIND_NAMES,
    BadPayloadFactory,
    PublishOptions,
    publish_simulation,
)
from tests.integration.conftest import SITE, Pki
from tests.support.agent_process import AgentProcess
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.integration


def mosquitto_pub(broker: Mosquitto, pki: Pki, topic: str, payload_file: Path) -> None:
    """Publish one file's bytes at QoS 1 with the mosquitto client, over TLS."""
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-q",
            "1",
            "--cafile",
            str(pki.publisher.ca_path),
            "--cert",
            str(pki.publisher.cert_path),
            "--key",
            str(pki.publisher.key_path),
            "-t",
            topic,
            "-f",
            str(payload_file),
        ],
        check=True,
        timeout=30,
        capture_output=True,
    )


def simulator_options(broker: Mosquitto, pki: Pki, tmp_path: Path, **kw: object) -> PublishOptions:
    values: dict[str, object] = {
        "site": SITE,
        "sources": 8,
        "rate": 4000.0,
        "mqtt_url": broker.url,
        "seed": 7,
        "bad_log": tmp_path / "bad.jsonl",
        "ca_file": pki.publisher.ca_path,
        "cert_file": pki.publisher.cert_path,
        "key_file": pki.publisher.key_path,
        "max_in_flight": 200,
    }
    values.update(kw)
    return PublishOptions(**values)  # type: ignore[arg-type]


def simulator_bad_reasons(path: Path) -> Counter[str]:
    return Counter(json.loads(line)["reason"] for line in path.read_text().splitlines())


def test_good_stored_once_bad_quarantined_with_reasons(
    tmp_path: Path, pki: Pki, tls_broker: Mosquitto, agent: AgentProcess
) -> None:
    agent.start()
    now = time.time()
    # mosquitto_pub: 200 good readings and 520 bad ones, every bad kind the catalogue knows.
    files: list[tuple[str, Path]] = []
    expected_bad: Counter[str] = Counter()
    factory = BadPayloadFactory(np.random.default_rng(11))
    for index in range(520):
        bad = factory.make(
            BAD_PAYLOAD_KIND_NAMES[index % len(BAD_PAYLOAD_KIND_NAMES)], now=now, source="pub-cell"
        )
        path = tmp_path / f"bad-{index}.bin"
        path.write_bytes(bad.payload)
        files.append((f"edgeward/{SITE}/pub-cell/metrics", path))
        expected_bad[bad.reason.value] += 1
    good_keys = set()
    for index in range(200):
        ts = round(now - 200 + index, 3)
        path = tmp_path / f"good-{index}.json"
        path.write_text(json.dumps({"ts": ts, "metrics": {"cpu_pct": 40.0 + index % 10}}))
        files.append((f"edgeward/{SITE}/pub-cell-{index % 4}/metrics", path))
        good_keys.add((f"pub-cell-{index % 4}", round(ts * 1000)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: mosquitto_pub(tls_broker, pki, *item), files))

    # The simulator: over 10,000 good readings with 5 % bad messages mixed in.
    report = publish_simulation(
        simulator_options(tls_broker, pki, tmp_path, count=10_600, bad_fraction=0.05)
    )
    assert report.unacknowledged == 0
    assert report.good >= 10_000
    expected_bad.update(simulator_bad_reasons(tmp_path / "bad.jsonl"))
    total_good = report.readings + 200
    total_bad = report.bad + 520
    assert total_bad >= 1000

    status = agent.wait_until(
        lambda s: s.records_ingested + s.quarantined >= total_good + total_bad, timeout=180
    )
    assert agent.running, "bad input never stops the agent"
    assert status.records_stored == total_good, "every good record stored"
    assert status.duplicates == 0, "and stored once"
    assert status.quarantined_by_reason == dict(expected_bad), "every bad one, right reason"
    assert status.quarantined == total_bad

    from edge_agent.store import AgentStore

    store = AgentStore.open_read_only(agent.data_dir)
    stored_keys = set(
        store.db.execute("SELECT source, ts_ms FROM readings WHERE source LIKE 'pub-cell-%'")
    )
    occurrences = store.db.execute("SELECT sum(occurrences) FROM quarantine").fetchone()[0]
    store.close()
    assert stored_keys == good_keys
    assert occurrences == total_bad
    assert agent.terminate() == 0, "SIGTERM stops the agent cleanly"
    assert "stopped cleanly" in agent.log_text()


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, pki: Pki, tls_broker: Mosquitto, agent: AgentProcess
) -> None:
    agent.start()
    options = simulator_options(
        tls_broker, pki, tmp_path, count=24_000, rate=3000.0, bad_fraction=0.02
    )
    reports = []
    publisher = threading.Thread(target=lambda: reports.append(publish_simulation(options)))
    publisher.start()
    agent.wait_until(lambda s: s.records_ingested >= 5000, timeout=120)
    agent.kill_all()  # the daemon and its MQTT receiver, mid-stream, no chance to clean up
    killed_at = agent.status()
    agent.start()
    publisher.join(180)
    (report,) = reports
    assert report.unacknowledged == 0
    expected_total = report.readings + report.bad
    status = agent.wait_until(
        lambda s: s.records_ingested + s.quarantined >= expected_total, timeout=180
    )
    assert killed_at.records_ingested < report.readings, "the kill happened mid-stream"
    print(f"killed after {killed_at.records_ingested} records; redeliveries: {status.duplicates}")
    assert status.records_stored == report.readings, "no acknowledged message lost"
    assert status.records_ingested == report.readings, "none stored twice"
    assert status.quarantined_by_reason == dict(simulator_bad_reasons(tmp_path / "bad.jsonl"))
    assert agent.terminate() == 0


def test_the_agent_rides_out_a_broker_outage(
    tmp_path: Path, pki: Pki, tls_broker: Mosquitto, agent: AgentProcess
) -> None:
    agent.start()
    first = publish_simulation(simulator_options(tls_broker, pki, tmp_path, count=500))
    agent.wait_until(lambda s: s.records_ingested >= first.readings, timeout=60)
    tls_broker.stop()  # the backhaul drops; the agent keeps retrying with backoff
    time.sleep(3)
    assert agent.running
    tls_broker.restart()
    agent.wait_ready(timeout=60)  # reconnected and subscribed again by itself
    second = publish_simulation(simulator_options(tls_broker, pki, tmp_path, count=500, seed=8))
    status = agent.wait_until(
        lambda s: s.records_ingested >= first.readings + second.readings, timeout=60
    )
    assert status.records_stored == first.readings + second.readings
    assert "cannot reach the broker" in agent.log_text() or "disconnected" in agent.log_text()
    assert agent.terminate() == 0
