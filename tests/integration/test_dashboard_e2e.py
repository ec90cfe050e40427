"""The dashboard end to end: a person in a real browser acts on a running system.

`edgeward control-plane serve` runs the control plane and its dashboard as one process; a real
agent (mosquitto feeding it readings, the real model and the risk screener with llama.cpp)
talks to it over CURVE; headless Chromium is the person. An operator approves a decision the
agent holds on the Risk page and the agent runs it; the operator rolls a rollout back on the
Rollouts page and the site goes back to its previous model. An admin then visits every page
and a screenshot of each is saved (artifacts/screenshots/, or $EDGEWARD_ARTIFACTS).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from certs import init_pki, issue_device
from control_plane.access import Role
from control_plane.local import open_local
from control_plane.registry import SqliteRegistry
from control_plane.users import AccountStore
from edge_agent.enrollment import enroll_device
from edgeward.risk.llm import ensure_head, load_llm_settings
from tests.integration.test_risk_approvals import (
    SITE,
    ActionLog,
    Site,
    _install_model,
    _settings,
    wait,
)
from tests.support.browser import DIALOG, DashboardBrowser, artifacts_dir, start_chromium
from tests.support.models import model_bundle
from tests.support.mosquitto import free_port, start_mosquitto, wait_for_port
from tests.support.processes import EdgewardProcess
from tests.ui.state import PASSWORD, fast_hasher

pytestmark = pytest.mark.integration
PAGES = ("/", "/fleet", "/models", "/rollouts", "/risk", "/data", "/audit", "/users")
SHOT_NAMES = {"/": "overview", **{path: path.strip("/") for path in PAGES[1:]}}


def get(url: str) -> int:
    """Return the HTTP status of GET `url`."""
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 (loopback)
        return int(reply.status)


def test_serve_runs_the_dashboard_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    agents, web = free_port(), free_port()
    config = tmp_path / "control.toml"
    config.write_text(f"""
[control]
state_dir = "{tmp_path / "state"}"
registry_dir = "{tmp_path / "registry"}"
pki_dir = "{tmp_path / "pki"}"
bind = "tcp://127.0.0.1:{agents}"
""")
    subprocess.run(
        [
            *(sys.executable, "-m", "edgeward", "certs", "init"),
            *("--dir", str(tmp_path / "pki"), "--address", f"tcp://127.0.0.1:{agents}"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    serve = EdgewardProcess(
        ["control-plane", "serve", "--config", str(config), "--dashboard-port", str(web)],
        tmp_path / "control.log",
    ).start()
    try:
        serve.wait_for_log(f"dashboard serving on http://127.0.0.1:{web}/", timeout=60)
        assert "edgeward users add NAME --role admin" in serve.log_text()
        wait_for_port(web, timeout=30)
        assert get(f"http://127.0.0.1:{web}/login") == 200
        started = time.monotonic()
        assert serve.terminate(timeout=15) == 0
        assert time.monotonic() - started < 10
    finally:
        serve.kill()
    assert "control plane and dashboard stopped" in serve.log_text()


def _db(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{root / 'control' / 'control.db'}?mode=ro", uri=True)


def rollout_status(root: Path, rollout_id: int) -> str | None:
    with _db(root) as conn:
        row = conn.execute("SELECT status FROM rollouts WHERE id = ?", (rollout_id,)).fetchone()
    return None if row is None else str(row[0])


def active_version(root: Path) -> int | None:
    with _db(root) as conn:
        row = conn.execute("SELECT active_version FROM sites WHERE site = ?", (SITE,)).fetchone()
    return None if row is None else row[0]


def _enroll(root: Path, port: int) -> Path:
    """Enroll the site and install model v1 on it; return the model-signing key."""
    pki = init_pki(root / "pki", control_plane_address=f"tcp://127.0.0.1:{port}")
    issue_device(pki, SITE, out=root / f"{SITE}.bundle")
    enroll_device(root / f"{SITE}.bundle", root / SITE)
    _install_model(root, pki.signing.private_key, pki.signing.public_key)
    return pki.signing.private_key


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    """A control plane serving its dashboard, one agent, and the dashboard's address."""
    ensure_head(load_llm_settings())
    port, web = free_port(), free_port()
    signing_key = _enroll(tmp_path, port)
    broker = start_mosquitto(tmp_path / "broker")
    control_config, agent_config = _settings(tmp_path, broker, port)
    with control_config.open("a") as extra:
        extra.write(f"\n[control.dashboard]\nport = {web}\nrefresh_s = 30\n")
    plane = open_local(control_config)
    registry = SqliteRegistry.open(plane.settings.registry_dir)
    registry.register(tmp_path / "bundle")
    registry.register(model_bundle(tmp_path / "bundle-2", seed=2, signing_key=signing_key))
    registry.set_alias("champion", 1, actor="test", reason="the model the site runs")
    accounts = AccountStore(plane.writer, plane.audit, hasher=fast_hasher())
    for role in (Role.OPERATOR, Role.ADMIN):
        accounts.add(role.value, role, PASSWORD, actor="test")
    control = EdgewardProcess(
        ["control-plane", "serve", "--config", str(control_config)], tmp_path / "control.log"
    )
    agent = EdgewardProcess(["agent", "run", "--config", str(agent_config)], tmp_path / "agent.log")
    actions = ActionLog()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="ops")
    listener.on_message = lambda _c, _u, message: actions.add(message.payload)
    feed = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"feed-{uuid.uuid4().hex[:6]}"
    )
    try:
        control.start()
        agent.start()
        listener.connect("127.0.0.1", broker.port)
        listener.subscribe(f"edgeward/{SITE}/+/actions", qos=1)
        listener.loop_start()
        feed.connect("127.0.0.1", broker.port)
        feed.loop_start()
        control.wait_for_log("dashboard serving on", timeout=60)
        agent.wait_for_log("subscribed to", timeout=120)
        wait_for_port(web, timeout=30)
        site = Site(
            root=tmp_path,
            config=control_config,
            control=control,
            agent=agent,
            feed=feed,
            actions=actions,
        )
        yield site, f"http://127.0.0.1:{web}"
    finally:
        for client in (feed, listener):
            client.loop_stop()
            client.disconnect()
        for process in (control, agent):
            process.kill()
        broker.stop()


def start_rollout(site: Site) -> int:
    """Start a rollout of v2 with the CLI once the site has said hello; return its id."""
    deadline = time.monotonic() + 60
    while True:
        result = site.cli("rollout", "start", "2", "--force", "--reason", "e2e", check=False)
        if result.returncode == 0:
            break
        assert time.monotonic() < deadline, result.stderr
        time.sleep(0.5)
    with _db(site.root) as conn:
        return int(conn.execute("SELECT MAX(id) FROM rollouts").fetchone()[0])


@pytest.fixture
def browser(tmp_path: Path, system: tuple[Site, str]) -> Iterator[DashboardBrowser]:
    driver = start_chromium(tmp_path / "chromium")
    try:
        yield DashboardBrowser(driver, system[1])
    finally:
        driver.quit()


def test_an_operator_approves_and_rolls_back_in_a_browser(
    system: tuple[Site, str], browser: DashboardBrowser
) -> None:
    site, _ = system
    shots = artifacts_dir()
    rollout_id = start_rollout(site)
    site.warm_up(["cell-1"])
    held = site.held_restart("cell-1")
    wait(lambda: any(a["decision_id"] == held for a in site.approvals()), 60, "the request")
    wait(lambda: active_version(site.root) == 2, 60, "the site to run v2")

    # The operator approves the held decision on the Risk page; the agent runs it.
    browser.log_in("operator", PASSWORD, then="/risk")
    browser.screenshot("risk-held", shots)
    browser.press("Approve")
    browser.fill("Comment", "field team on site")
    browser.press("Approve", within=DIALOG)
    browser.wait_for_text("approved")
    wait(lambda: site.status(held) == "executed", 30, "the approved restart to run")
    assert [m["action"] for m in site.actions.for_decision(held)] == ["restart_node"]

    # The operator rolls the rollout back on the Rollouts page; the site goes back to v1.
    browser.open("/rollouts")
    browser.press("Roll back")
    browser.fill("Reason", "the canary looks wrong")
    browser.press("Confirm", within=DIALOG)
    wait(lambda: rollout_status(site.root, rollout_id) == "rolled_back", 30, "the rollback")
    wait(lambda: active_version(site.root) == 1, 60, "the site back on v1")

    # An admin sees every page.
    browser.press("Log out")
    browser.log_in("admin", PASSWORD)
    for path in PAGES:
        browser.open(path)
        browser.wait(lambda _d: browser.visible("//header"))
        browser.screenshot(SHOT_NAMES[path], shots)
    assert all((shots / f"{name}.png").stat().st_size > 0 for name in SHOT_NAMES.values())
