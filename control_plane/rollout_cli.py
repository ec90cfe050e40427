"""`edgeward rollout ...`: start, follow and steer rollouts."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from control_plane.local import LocalPlane, open_local
from control_plane.operator_options import (
    ConfigOption,
    ReasonOption,
    TokenOption,
    UrlOption,
    operator,
)
from control_plane.remote import RemoteControlPlane
from control_plane.rollout import Rollout, RolloutError
from edgeward.cli.options import JsonOption

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()
IdArgument = Annotated[int, typer.Argument(help="The rollout's id.")]


@app.callback()
def rollout() -> None:
    """Start, follow and steer staged rollouts."""


@app.command()
def start(
    version: Annotated[int, typer.Argument(help="The registered version to roll out.")],
    config: ConfigOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Roll out even if the gate fails.")
    ] = False,
    reason: ReasonOption = "",
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Judge a version with the promotion gate and start its rollout."""
    if url:
        body = {"reason": reason or "started from the CLI", "force": force}
        started = RemoteControlPlane(url, token).post(f"/models/{version}/promote", body)
        rollout_id, gate = started["rollout_id"], started["gate"]
        summary = "passed" if gate.get("passed") else "failed, forced"
    else:
        plane = open_local(config)
        rollout_id, report = plane.promote(version, actor=operator(), force=force, reason=reason)
        gate, summary = report.to_dict(), report.summary()
    if as_json:
        typer.echo(json.dumps({"rollout_id": rollout_id, "gate": gate}))
    else:
        console.print(f"rollout {rollout_id} of version {version} started (gate: {summary})")


@app.command()
def status(
    rollout_id: Annotated[int | None, typer.Argument(help="Default: the newest.")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show a rollout: its waves, each site's state and live quality (remote: as JSON)."""
    if url:
        typer.echo(
            json.dumps(_remote_rollout(RemoteControlPlane(url, token), rollout_id), indent=2)
        )
        return
    plane = open_local(config)
    found = _rollout(plane, rollout_id)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2, default=str))
    else:
        console.print(render(found))


@app.command()
def pause(
    rollout_id: IdArgument,
    config: ConfigOption = None,
    reason: ReasonOption = "",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Hold a running rollout."""
    if url:
        _steer(RemoteControlPlane(url, token), rollout_id, "pause", reason)
    else:
        open_local(config).engine.pause(rollout_id, actor=operator(), reason=reason)
    console.print(f"rollout {rollout_id} paused")


@app.command()
def resume(
    rollout_id: IdArgument,
    config: ConfigOption = None,
    reason: ReasonOption = "",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Let a paused rollout go on."""
    if url:
        _steer(RemoteControlPlane(url, token), rollout_id, "resume", reason)
    else:
        open_local(config).engine.resume(rollout_id, actor=operator(), reason=reason)
    console.print(f"rollout {rollout_id} resumed")


@app.command()
def abort(
    rollout_id: IdArgument,
    config: ConfigOption = None,
    reason: ReasonOption = "aborted by an operator",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Stop a rollout and put every touched site back on the previous model."""
    if url:
        _steer(RemoteControlPlane(url, token), rollout_id, "abort", reason)
    else:
        open_local(config).engine.abort(rollout_id, actor=operator(), reason=reason)
    console.print(f"rollout {rollout_id} aborted; rollback orders go out from the control plane")


@app.command("rollback")
def roll_back(
    rollout_id: Annotated[
        int | None, typer.Argument(help="Default: the newest completed rollout.")
    ] = None,
    config: ConfigOption = None,
    reason: ReasonOption = "rolled back by an operator",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Roll a rollout back, even a completed one (the champion moves back too)."""
    if url:
        remote = RemoteControlPlane(url, token)
        if rollout_id is None:
            raise RolloutError("with --url, name the rollout to roll back")
        _steer(remote, rollout_id, "rollback", reason)
        console.print(f"rollout {rollout_id} rolled back")
        return
    plane = open_local(config)
    chosen = rollout_id if rollout_id is not None else plane.last_completed_rollout()
    if chosen is None:
        raise RolloutError("no completed rollout to roll back")
    plane.engine.roll_back(chosen, actor=operator(), reason=reason)
    console.print(f"rollout {chosen} rolled back")


@app.command()
def watch(
    rollout_id: Annotated[int | None, typer.Argument(help="Default: the newest.")] = None,
    config: ConfigOption = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes.")] = 1.0,
) -> None:
    """Follow a rollout live until it ends (Ctrl-C to stop watching)."""
    plane = open_local(config)
    found = _rollout(plane, rollout_id)
    with Live(render(found), console=console, refresh_per_second=4) as live:
        while found.status in ("running", "paused"):
            time.sleep(interval)
            found = _rollout(plane, found.id)
            live.update(render(found))
    console.print(f"rollout {found.id} {found.status}: {found.reason}")


def _steer(remote: RemoteControlPlane, rollout_id: int, action: str, reason: str) -> None:
    """Ask a remote control plane to pause, resume, abort or roll back a rollout."""
    remote.post(f"/rollouts/{rollout_id}/{action}", {"reason": reason or f"{action} from the CLI"})


def _remote_rollout(remote: RemoteControlPlane, rollout_id: int | None) -> dict[str, Any]:
    """Return a rollout from a remote control plane (default: the newest)."""
    if rollout_id is not None:
        found: dict[str, Any] = remote.get(f"/rollouts/{rollout_id}")
        return found
    newest = remote.get("/rollouts", limit=1)
    if not newest:
        raise RolloutError("there has been no rollout")
    first: dict[str, Any] = newest[0]
    return first


def _rollout(plane: LocalPlane, rollout_id: int | None) -> Rollout:
    ids = plane.engine.store.ids()
    chosen = rollout_id if rollout_id is not None else (ids[-1] if ids else None)
    found = plane.engine.store.get(chosen) if chosen is not None else None
    if found is None:
        raise RolloutError("there is no such rollout" if ids else "there has been no rollout")
    return found


def render(found: Rollout) -> Group:
    """Return a rollout as tables: its header, waves, and sites."""
    head = Table(show_header=False, title=f"Rollout {found.id}: version {found.version}")
    head.add_row("status", found.status)
    head.add_row("baseline", str(found.baseline_version))
    head.add_row("reason", found.reason or "-")
    waves = Table(title="Waves")
    for column in ("wave", "status", "sites", "bake until", "verdict"):
        waves.add_column(column)
    for wave in found.waves:
        members = sum(1 for s in found.sites if s.wave == wave.wave)
        until = (
            time.strftime("%H:%M:%S", time.localtime(wave.bake_until)) if wave.bake_until else "-"
        )
        waves.add_row(str(wave.wave), wave.status, str(members), until, wave.verdict or "-")
    sites = Table(title="Sites")
    for column in ("site", "wave", "status", "baseline MAE", "live MAE", "detail"):
        sites.add_column(column)
    for site in found.sites:
        sites.add_row(
            site.site,
            str(site.wave),
            site.status,
            _number(site.baseline_mae),
            _number(site.live_mae),
            site.detail[:60],
        )
    return Group(head, waves, sites)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
