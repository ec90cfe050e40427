"""The daemon with every input at once: MQTT over TLS, a PM drop folder and a scraped exporter."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import SITE, Pki
from tests.support.agent_process import AgentProcess
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.integration
DATA = Path(__file__).parent.parent / "data"
EXPOSITION = (DATA / "prometheus" / "ran_exporter.prom").read_bytes()


class _Exporter(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(EXPOSITION)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def exporter_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


def test_pm_files_and_scrapes_reach_the_store(
    tmp_path: Path, pki: Pki, tls_broker: Mosquitto, agent: AgentProcess, exporter_url: str
) -> None:
    pm_dir = tmp_path / "pm"
    pm_dir.mkdir()
    with agent.config_file.open("a") as config:
        config.write(
            f"""
[agent.pm_files]
watch_dir = "{pm_dir}"
poll_interval_s = 0.2
settle_s = 0.5

[agent.retention]
interval_s = 1

[[agent.prometheus]]
url = "{exporter_url}"
source = "bbu-{SITE}"
interval_s = 0.5
include = ["node_hwmon_temp_celsius"]
"""
        )
    agent.start()
    nr = "A20261203.1200+0000-1215+0000_gNB-Paris-3.xml"
    # The 2026-12-03 files carry old timestamps by now: rebase them to today's date.
    from datetime import UTC, datetime, timedelta

    period_end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    stamp = period_end.isoformat().replace("+00:00", "Z")
    content = (DATA / "pm" / nr).read_text().replace("2026-12-03T12:15:00Z", stamp)
    (pm_dir / (nr + ".tmp")).write_text(content)
    (pm_dir / (nr + ".tmp")).rename(pm_dir / nr)  # writers rename once complete
    shutil.copy(
        DATA / "pm" / "A20261203.1200+0000-1215+0000_eNB-Lyon-17.xml", pm_dir / "broken.xml"
    )
    (pm_dir / "broken.xml").write_bytes((pm_dir / "broken.xml").read_bytes()[:700])

    status = agent.wait_until(
        lambda s: (
            (pm_dir / "done" / nr).exists()
            and (pm_dir / "failed" / "broken.xml").exists()
            and s.counters.get("prometheus.scrapes", 0) >= 2
        ),
        timeout=60,
    )
    assert status.records_stored == 2
    assert status.quarantined_by_reason["unreadable_file"] == 1
    assert status.quarantined_by_reason["suspect_measurement"] == 1
    # The exporter's temperature sample is named with its labels, which the bundled schema
    # does not alias: it is quarantined as unknown, once per scrape, never dropped.
    assert status.quarantined_by_reason["unknown_metric"] >= 2
    assert status.counters["prometheus.samples_filtered"] >= 20
    assert agent.terminate() == 0
