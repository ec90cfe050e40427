"""`edgeward demo`: the whole system on this machine, with a story that plays out on its own."""

from __future__ import annotations

import json
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from edgeward.demo import ChaosTimings, DemoOptions, DemoRun, StoryTimings
from edgeward.errors import EdgewardError
from edgeward.logs import configure_logging

app = typer.Typer(add_completion=False)
console = Console(stderr=True)
REFRESH_S = 2.0
GUARANTEE_FAILED = 2


@app.command()
def demo(
    sites: Annotated[int, typer.Option("--sites", help="Simulated sites (one agent each).")] = 3,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt", help="Use this broker instead of the embedded one.", show_default=False
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where everything lives (default: a temporary folder).",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", help="Stop after this many seconds (default: Ctrl-C).", show_default=False
        ),
    ] = None,
    headless: Annotated[
        bool, typer.Option("--headless", help="A scripted operator decides; no live table.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the JSON report here at the end.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    llm: Annotated[
        bool, typer.Option("--llm", help="Screen decisions with the on-device LLM too (slow).")
    ] = False,
    bake_s: Annotated[float, typer.Option("--bake-s", help="Bake time of each wave.")] = 3.0,
    interval_s: Annotated[
        float, typer.Option("--interval-s", help="A challenger trains at most this often.")
    ] = 60.0,
    chaos: Annotated[
        bool,
        typer.Option(
            "--chaos",
            help="Also kill and restart roles, cut a site's link and fill a site's disk.",
        ),
    ] = False,
    chaos_seed: Annotated[
        int, typer.Option("--chaos-seed", help="Seed of the faults' order, targets and timing.")
    ] = 0,
) -> None:
    """Run the control plane, dashboard, aggregator and simulated sites, and tell the story.

    The headless report ends with measured guarantees; if one fails, the exit code is 2.
    """
    from edgeward.demo.headless import collect_report

    configure_logging("WARNING")
    folder = data_dir or Path(tempfile.mkdtemp(prefix="edgeward-demo-"))
    timings = StoryTimings(bake_s=bake_s, aggregator_interval_s=interval_s)
    options = DemoOptions(
        data_dir=folder,
        sites=sites,
        mqtt_url=mqtt,
        headless=headless,
        llm=llm,
        timings=timings,
        chaos=ChaosTimings(seed=chaos_seed) if chaos else None,
    )
    started = time.monotonic()

    def say(text: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.1f}s[/dim] {text}")

    run = DemoRun(options, on_event=say)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    console.print(f"[bold]Edgeward demo[/bold]: {sites} sites, everything in {folder}")
    deadline = started + duration if duration else None
    final: dict[str, Any] | None = None
    failed = False
    try:
        run.start()  # inside the try: whatever started before a failure is stopped too
        _announce(run)
        _watch(run, stop, deadline, live=not headless)
        if run.chaos is not None and not stop.is_set():
            _cover_every_fault(run, stop)
        if headless or report or as_json:
            say("stopping the feeds and counting")
            run.quiesce(let_rollout_end=True)
            final = collect_report(run)
    except EdgewardError as err:
        console.print(f"[red]the demo failed:[/red] {err}")
        failed = True
    finally:
        say("stopping every process")
        run.stop()
    if final is not None:
        text = json.dumps(final, indent=2)
        if report:
            report.write_text(text + "\n")
            console.print(f"report written to {report}")
        if as_json:
            typer.echo(text)
        console.print(_summary(final))
    console.print("stopped cleanly" if not failed else "stopped")
    if failed:
        raise typer.Exit(1)
    if final is not None and not final["guarantees"]["all_hold"]:
        broken = [k for k, v in final["guarantees"].items() if k != "all_hold" and v["ok"] is False]
        console.print(f"[red]guarantees that failed:[/red] {', '.join(broken)}")
        raise typer.Exit(GUARANTEE_FAILED)


def _cover_every_fault(run: DemoRun, stop: threading.Event) -> None:
    """Past the duration, go on until every kind of fault was injected once (bounded)."""
    if run.chaos is None:
        return
    timeout = run.chaos_timings.cover_timeout_s
    deadline = time.monotonic() + timeout
    while not run.chaos.wait_covered(REFRESH_S):
        if stop.is_set() or time.monotonic() > deadline:
            console.print(f"not every kind of fault was injected within {timeout:.0f} s more")
            return
        died = run.died()
        if died:
            raise EdgewardError("; ".join(died))


def _announce(run: DemoRun) -> None:
    if run.credentials is None:
        return
    console.print(
        f"\n[bold green]Dashboard:[/bold green] {run.layout.dashboard_url}\n"
        f"[bold]Log in as[/bold] {run.credentials.user} / {run.credentials.password}\n"
        f"(shown once; logs in {run.layout.root / 'logs'}; Ctrl-C stops everything)\n"
    )


def _watch(run: DemoRun, stop: threading.Event, deadline: float | None, *, live: bool) -> None:
    with Live(console=console, auto_refresh=False, transient=False) as screen:
        while not stop.wait(REFRESH_S):
            died = run.died()
            if died:
                raise EdgewardError("; ".join(died))
            if live:
                screen.update(_render(run.status()), refresh=True)
            if deadline and time.monotonic() >= deadline:
                break


def _render(status: dict[str, Any]) -> Group:
    sites = Table(title="Sites")
    for column in ("site", "agent", "stored", "rate/s", "quarantined"):
        sites.add_column(column)
    overview = status["overview"] or {}
    for name, report in status["sites"].items():
        if "error" in report:
            sites.add_row(name, "?", report["error"][:40], "", "")
            continue
        sites.add_row(
            name,
            "running" if report["agent_running"] else "[red]stopped[/red]",
            f"{report['records_stored']:,}",
            f"{report['ingest_rate_per_s']:.1f}",
            f"{report['quarantined']:,}",
        )
    plane = Table(title="Control plane")
    plane.add_column("what")
    plane.add_column("now")
    rollout = overview.get("active_rollout")
    plane.add_row("champion", str(overview.get("champion")))
    plane.add_row("latest version", str(overview.get("latest_version")))
    plane.add_row(
        "rollout",
        f"#{rollout['id']} v{rollout['version']} {rollout['status']} "
        f"{rollout['sites_activated']}/{rollout['sites']}"
        if rollout
        else "none",
    )
    plane.add_row("approvals pending", str(overview.get("pending_approvals", "")))
    plane.add_row("decisions by risk", json.dumps(overview.get("decisions_by_risk", {})))
    plane.add_row("quarantined", json.dumps(overview.get("quarantine_by_reason", {}))[:80])
    return Group(sites, plane)


def _summary(report: dict[str, Any]) -> Table:
    table = Table(title="Demo report")
    table.add_column("figure")
    table.add_column("value")
    table.add_row("messages lost", str(report["messages_lost"]))
    table.add_row("records ingested", f"{report['records_ingested']:,}")
    table.add_row("quarantined", json.dumps(report["quarantined_by_reason"]))
    table.add_row("training runs", json.dumps(report["training"]["by_status"]))
    table.add_row("promotions", str(len(report["promotions"])))
    table.add_row("automatic rollbacks", str(len(report["automatic_rollbacks"])))
    table.add_row("decisions by risk", json.dumps(report["decisions_by_risk"]))
    approvals = report["approvals"]
    table.add_row(
        "approvals",
        f"{approvals['approved']} approved, {approvals['denied']} denied, "
        f"{approvals['expired']} expired, {approvals['pending']} pending",
    )
    if report["faults"] is not None:
        table.add_row("faults injected", json.dumps(report["faults"]["by_kind"]))
    guarantees = report["guarantees"]
    table.add_row(
        "guarantees",
        ", ".join(f"{k}: {_verdict(v['ok'])}" for k, v in guarantees.items() if k != "all_hold"),
    )
    table.add_row("errors", str(len(report["errors"])))
    return table


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("holds" if ok else "FAILS")
