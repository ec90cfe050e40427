"""Time to first render of the dashboard's overview and fleet pages in a real browser.

The store holds 500 enrolled sites (hello and a heartbeat with health and live quality each)
and 10,000 decisions (9,000 reports of executed low-risk decisions and 1,000 approval
requests, 200 of them still pending), written through the control plane's own intake. The
control plane runs as `edgeward control-plane serve` with the dashboard; headless Chromium logs
in as an admin, then each page is opened repeatedly and timed from navigation until its main
content is on screen (the "Sites online" tile and the models panel; the fleet table's rows).
The login page, which reads nothing, is the peer figure of the same run. The service calls
behind each page are also timed in this process, to tell the database from the browser.

Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certs import init_pki, issue_device  # noqa: E402
from control_plane.access import Principal, Role  # noqa: E402
from control_plane.local import LocalPlane, open_local  # noqa: E402
from control_plane.operations import Operations  # noqa: E402
from control_plane.users import AccountStore  # noqa: E402
from edgeward.wire import ApprovalRequest, DecisionReport  # noqa: E402
from tests.support.browser import DashboardBrowser, start_chromium  # noqa: E402
from tests.support.mosquitto import free_port  # noqa: E402

SITES = 500
DECISIONS = 10_000
REQUESTS = 1_000
PENDING = 200
PASSWORD = "benchmark password 1"  # noqa: S105 (a throwaway account)
console = Console(stderr=True)


def write_config(root: Path, agent_port: int, web_port: int) -> Path:
    """Write the control plane's settings (agents' and dashboard's ports) under `root`."""
    path = root / "control.toml"
    path.write_text(f"""
[control]
state_dir = "{root / "state"}"
registry_dir = "{root / "registry"}"
pki_dir = "{root / "pki"}"
bind = "tcp://127.0.0.1:{agent_port}"
heartbeat_interval_s = 3600
import_interval_s = 3600
log_level = "WARNING"

[control.dashboard]
port = {web_port}
refresh_s = 600
""")
    return path


def _decision(index: int, site: str, now: float, *, risky: bool) -> dict[str, Any]:
    return {
        "id": f"d-{index:05d}",
        "site": site,
        "action": "restart_node" if risky else "raise_alarm",
        "target": f"cell-{index % 12}",
        "parameters": {},
        "model_version": 1,
        "confidence": 0.8,
        "evidence": {"cpu_pct": 97.0 if risky else 60.0},
        "context": {"hour": 3, "peak_hour": False, "users_affected": 40},
        "summary": f"{'Restart' if risky else 'Alarm on'} cell-{index % 12}",
        "created_at": now - index,
    }


def _screening(level: str) -> dict[str, Any]:
    return {
        "level": level,
        "layers": [
            {"layer": "rules", "level": level, "reasons": ["cannot be undone"]},
            {"layer": "llm", "level": level, "reasons": ["outage"], "rationale": "A restart."},
        ],
    }


def seed(plane: LocalPlane, root: Path, progress: Progress) -> None:
    """Fill the store: enrolled sites with heartbeats, then decisions through the intake."""
    pki = init_pki(plane.settings.pki_dir, control_plane_address="tcp://127.0.0.1:9")
    now = time.time()
    sites = [f"site-{i:03d}" for i in range(SITES)]
    (root / "bundles").mkdir()
    task = progress.add_task("sites", total=SITES)
    for index, site in enumerate(sites):
        issue_device(pki, site, out=root / "bundles" / f"{site}.bundle")
        plane.fleet.hello(
            site=site,
            agent_version="bench",
            active_version=1,
            previous_version=None,
            schema_hash="f" * 64,
        )
        plane.fleet.heartbeat(
            site=site,
            active_version=1,
            health={
                "ingest_rate": 5.0 + index % 7,
                "quarantine_rate": 0.01,
                "quarantined.range": 2,
            },
            quality={"live_mae": 0.1 + index % 10 / 100, "samples": 60},
            now=now,
        )
        progress.advance(task)
    plane.fleet.flush()
    task = progress.add_task("decisions", total=DECISIONS)
    intake = plane.approvals.intake
    with plane.writer.transaction():  # one transaction: the intake's own ones join it
        for index in range(DECISIONS):
            site = sites[index % SITES]
            risky = index < REQUESTS
            level = "high" if risky else "low"
            body = _decision(index, site, now, risky=risky)
            if risky:
                expires = now + 86400 if index < PENDING else now - 60
                payload = {"decision": body, "screening": _screening(level), "expires_at": expires}
                intake.request(
                    site,
                    ApprovalRequest(decision_id=body["id"], site=site, risk=level, payload=payload),
                )
            outcome = "held" if risky else "executed"
            report = {"decision": body, "screening": _screening(level), "outcome": outcome}
            intake.report(
                site,
                DecisionReport(
                    decision_id=body["id"],
                    site=site,
                    risk=level,
                    payload={**report, "at": now - index},
                ),
            )
            progress.advance(task)


def time_call(function: Callable[[], object], repeats: int) -> float:
    """Return the median seconds of `function()`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    """Wait until `url` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 (loopback)
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def first_render(browser: DashboardBrowser, path: str, content: list[str]) -> float:
    """Open `path` and return the seconds until every XPath in `content` is displayed."""
    started = time.perf_counter()
    browser.open(path)
    browser.wait(lambda _d: all(browser.visible(xpath) for xpath in content), timeout=30)
    return time.perf_counter() - started


PAGES: dict[str, tuple[str, list[str]]] = {
    "login": ("/login", ["//input[@type='password']"]),
    "overview": (
        "/",
        ["//*[normalize-space(text())='Sites online']", "//*[contains(text(), 'Updated ')]"],
    ),
    "fleet": ("/fleet", ["//tbody/tr/td[contains(normalize-space(.), 'site-')]"]),
}


def measure(root: Path, repeats: int) -> dict[str, Any]:
    """Seed, serve, and time each page; return the figures."""
    agent_port, web_port = free_port(), free_port()
    config = write_config(root, agent_port, web_port)
    plane = open_local(config)
    with Progress(console=console, transient=True) as progress:
        seed(plane, root, progress)
    accounts = AccountStore(plane.writer, plane.audit)
    accounts.add("bench-admin", Role.ADMIN, PASSWORD, actor="benchmark")
    operations = Operations(plane, accounts=accounts)
    admin = Principal(name="bench-admin", role=Role.ADMIN)
    calls = {
        "overview_query_s": time_call(lambda: operations.overview(admin), repeats),
        "fleet_query_s": time_call(lambda: operations.sites(admin), repeats),
    }
    log = (root / "control.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "edgeward", "control-plane", "serve", "--config", str(config)],
        stdout=log,
        stderr=log,
    )
    driver = None
    try:
        base = f"http://127.0.0.1:{web_port}"
        wait_for_http(base + "/login")
        driver = start_chromium(root / "chromium")
        browser = DashboardBrowser(driver, base, timeout=30)
        times: dict[str, list[float]] = {name: [] for name in PAGES}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("pages", total=repeats * len(PAGES))
            for name in ("login", "overview", "fleet"):
                if name == "overview":
                    browser.log_in("bench-admin", PASSWORD)
                path, content = PAGES[name]
                first_render(browser, path, content)  # warm-up: NiceGUI's static files cached
                for _ in range(repeats):
                    times[name].append(first_render(browser, path, content))
                    progress.advance(task)
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(30)
        log.close()
    figures: dict[str, Any] = {
        f"{name}_first_render_s": round(statistics.median(values), 3)
        for name, values in times.items()
    }
    figures.update({f"{name}_worst_render_s": round(max(v), 3) for name, v in times.items()})
    figures.update({key: round(value, 4) for key, value in calls.items()})
    return figures


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgeward-dashboard-") as tmp:
        figures = measure(Path(tmp), args.repeats)
    result = {
        "sites": SITES,
        "decisions": DECISIONS,
        "repeats": args.repeats,
        **figures,
        "goals": {"overview_first_render_s": "< 1", "fleet_first_render_s": "< 1"},
    }
    console.print(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
