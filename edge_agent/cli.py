"""`edgeward agent ...`: run the daemon, inspect its store, replay traces, show settings."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer
from rich.console import Console
from rich.table import Table

from edge_agent.daemon import AgentDaemon, build_ingest_stack
from edge_agent.decisions.journal import DecisionJournal, Status
from edge_agent.enrollment import InstalledIdentity, enroll_device
from edge_agent.model_store import ModelStore
from edge_agent.replay import replay_csv
from edge_agent.settings import AgentSettings, load_agent_settings
from edge_agent.store import AgentStore, IngestStatus, read_status
from edgeward.cli.options import JsonOption
from edgeward.cli.progress import count_progress
from edgeward.logs import configure_logging
from edgeward.settings import env_var_for

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Run and inspect the edge agent on a device."
)
console = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (its \\[agent] table).", show_default=False),
]
SiteOption = Annotated[
    str | None, typer.Option("--site", help="This device's site name.", show_default=False)
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for the agent's store and keys.", show_default=False),
]


@app.callback()
def agent() -> None:
    """Run and inspect the edge agent on a device."""


def _settings(config: Path | None, **flags: Any) -> AgentSettings:
    return load_agent_settings(config, flags)


@app.command()
def run(
    site: SiteOption = None,
    data_dir: DataDirOption = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt", help="Broker URL, mqtt://HOST:PORT or mqtts://...", show_default=False
        ),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option("--schema", help="Metric schema TOML (default: bundled).", show_default=False),
    ] = None,
    pm_dir: Annotated[
        Path | None,
        typer.Option("--pm-dir", help="Folder to watch for 3GPP PM XML files.", show_default=False),
    ] = None,
    config: ConfigOption = None,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.", show_default=False),
    ] = None,
) -> None:
    """Run the agent daemon until SIGTERM or SIGINT, then stop cleanly."""
    settings = _settings(
        config,
        site=site,
        data_dir=data_dir,
        schema_file=schema,
        log_level=log_level,
        **{"mqtt.url": mqtt, "pm_files.watch_dir": pm_dir},
    )
    configure_logging(settings.log_level)
    AgentDaemon(settings).run_until_signal()


@app.command()
def status(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="The agent's data folder.", show_default=False)
    ],
    as_json: JsonOption = False,
) -> None:
    """Show what the agent has stored, quarantined (by reason) and how fast."""
    store = AgentStore.open_read_only(data_dir)
    try:
        report = read_status(store, now=time.time())
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_status(report)


def _print_status(report: IngestStatus) -> None:
    summary = Table(title="Ingestion", show_header=False)
    summary.add_row("records stored", f"{report.records_stored:,}")
    summary.add_row("records ingested (all time)", f"{report.records_ingested:,}")
    summary.add_row("merged into earlier readings", f"{report.records_merged:,}")
    summary.add_row("duplicates ignored", f"{report.duplicates:,}")
    summary.add_row("quarantined (all time)", f"{report.quarantined:,}")
    summary.add_row("ingest rate (last minute)", f"{report.ingest_rate_per_s:,.1f} records/s")
    if report.schema:
        summary.add_row(
            "schema",
            f"{report.schema['name']} v{report.schema['version']} ({report.schema['hash'][:12]})",
        )
    console.print(summary)
    if report.quarantined_by_reason:
        reasons = Table(title="Quarantined by reason")
        reasons.add_column("reason")
        reasons.add_column("count", justify="right")
        for reason, count in report.quarantined_by_reason.items():
            reasons.add_row(reason, f"{count:,}")
        console.print(reasons)
    if report.sources:
        sources = Table(title="Sources")
        sources.add_column("source")
        sources.add_column("last reading")
        sources.add_column("last received")
        for source in report.sources:
            sources.add_row(source.source, source.last_ts, source.last_received_at)
        console.print(sources)


@app.command()
def replay(
    trace: Annotated[Path, typer.Argument(help="CSV trace: ts, source, metric columns.")],
    site: SiteOption = None,
    data_dir: DataDirOption = None,
    speed: Annotated[
        float, typer.Option("--speed", help="0: all at once; N: N times faster than recorded.")
    ] = 0.0,
    rebase: Annotated[
        bool, typer.Option("--rebase/--no-rebase", help="Shift timestamps to the replay clock.")
    ] = True,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay a recorded CSV trace into the agent's store through full validation."""
    settings = _settings(config, site=site, data_dir=data_dir)
    stack = build_ingest_stack(settings)
    try:
        with count_progress("replaying", console=console, disable=as_json) as progress:
            task = progress.add_task("rows", total=None)
            result = replay_csv(
                trace,
                stack.writer,
                speed=speed,
                rebase_timestamps=rebase,
                on_progress=lambda rows: progress.update(task, completed=rows),
            )
    finally:
        stack.store.close()
    if as_json:
        typer.echo(json.dumps(asdict(result)))
    else:
        console.print(
            f"{result.rows:,} rows: {result.records:,} stored, {result.merged:,} merged, "
            f"{result.duplicates:,} duplicates, {result.quarantined:,} quarantined"
        )


@app.command()
def enroll(
    bundle: Annotated[
        Path, typer.Argument(help="The enrollment bundle 'edgeward certs issue-device' wrote.")
    ],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="The agent's data folder.", show_default=False)
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an installed identity (after a rotation).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Install this device's keys, certificates and control-plane address from its bundle."""
    installed = enroll_device(bundle, data_dir, replace=replace)
    if as_json:
        typer.echo(json.dumps(installed.to_dict(), indent=2))
    else:
        _print_installed(installed)


def _print_installed(installed: InstalledIdentity) -> None:
    if installed.replaced_site is not None:
        console.print(
            f"Replaced the identity of {installed.replaced_site} "
            f"(generation {installed.replaced_generation})."
        )
    console.print(
        f"Enrolled as {installed.site} (generation {installed.generation}) with the control "
        f"plane at {installed.control_plane_address}; identity in {installed.directory}:"
    )
    for name in installed.files:
        console.print(f"  {name}")
    console.print("Delete the bundle file now: it holds this device's private keys.")


@app.command("settings")
def show_settings(
    site: SiteOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the effective settings (secrets masked) and the variable that overrides each."""
    settings = _settings(config, site=site, data_dir=data_dir)
    values = json.loads(settings.model_dump_json())
    if as_json:
        typer.echo(json.dumps(values, indent=2))
        return
    table = Table(title="Agent settings")
    for column in ("key", "value", "environment variable"):
        table.add_column(column, overflow="fold")
    for key, value in _leaves(values):
        table.add_row(key, json.dumps(value), env_var_for("agent", key))
    console.print(table)


def _leaves(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            rows.extend(_leaves(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


@app.command("decisions")
def list_decisions(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The agent's data folder.")],
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only this status (held, executed, denied, ...)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show the newest decisions on this device: action, risk, status (works offline)."""
    if status is not None and status not in get_args(Status):
        raise typer.BadParameter(f"one of {', '.join(get_args(Status))}", param_hint="--status")
    store = AgentStore.open_read_only(data_dir)
    try:
        rows = DecisionJournal(store).newest(status=cast(Status | None, status), limit=limit)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([row.to_dict() for row in rows], indent=2))
        return
    table = Table(title="Decisions, newest first")
    for column in ("id", "action", "target", "risk", "status", "summary"):
        table.add_column(column)
    for row in rows:
        d = row.decision
        table.add_row(d.id[:12], d.action.value, d.target, row.level, row.status, d.summary)
    console.print(table if rows else "No decision recorded.")


@app.command("rollback")
def roll_back_model(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The agent's data folder.")],
) -> None:
    """Switch back to the last known good model (works offline)."""
    version = ModelStore(data_dir).roll_back()
    console.print(f"model {version} is active again")
