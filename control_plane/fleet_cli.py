"""`edgeward fleet ...`: the sites, their health and models; cut one off."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from certs import list_devices, load_pki, revoke_device
from control_plane.local import open_local
from control_plane.operator_options import (
    ConfigOption,
    ReasonOption,
    TokenOption,
    UrlOption,
    operator,
)
from control_plane.remote import RemoteControlPlane
from edgeward.cli.options import JsonOption
from edgeward.errors import EdgewardError

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


@app.callback()
def fleet() -> None:
    """See the fleet; revoke a site."""


@app.command("list")
def list_sites(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List sites: enrollment, last heartbeat, active model, live quality."""
    rows = _remote_rows(RemoteControlPlane(url, token)) if url else _local_rows(config)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Fleet")
    for column in rows[0] if rows else ("site",):
        table.add_column(column)
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row.values()))
    console.print(table)


def _remote_rows(remote: RemoteControlPlane) -> list[dict[str, object]]:
    now = time.time()
    return [
        {
            "site": site["site"],
            "enrolled": site["enrollment"] == "enrolled",
            "last_seen_s_ago": round(now - site["last_seen"], 1) if site["last_seen"] else None,
            "active_version": site["active_version"],
            "live_mae": site["quality"].get("live_mae"),
            "alarm_rate": site["quality"].get("alarm_rate"),
        }
        for site in remote.get("/sites")
    ]


def _local_rows(config: ConfigOption) -> list[dict[str, object]]:
    plane = open_local(config)
    devices = {d.site: d for d in list_devices(load_pki(plane.settings.pki_dir))}
    seen = {s.site: s for s in plane.fleet.list()}
    rows: list[dict[str, object]] = []
    for site in sorted(set(devices) | set(seen)):
        device, record = devices.get(site), seen.get(site)
        rows.append(
            {
                "site": site,
                "enrolled": device is not None and device.active,
                "last_seen_s_ago": round(time.time() - record.last_seen, 1) if record else None,
                "active_version": record.active_version if record else None,
                "live_mae": record.quality.get("live_mae") if record else None,
                "alarm_rate": record.quality.get("alarm_rate") if record else None,
            }
        )
    return rows


@app.command()
def show(
    site: Annotated[str, typer.Argument(help="The site's name.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one site's last report in full."""
    record = open_local(config).fleet.get(site)
    if record is None:
        raise EdgewardError(f"site {site!r} has never reported")
    if as_json:
        typer.echo(json.dumps(record.to_dict(), indent=2))
        return
    table = Table(title=f"Site {site}", show_header=False)
    for key, value in record.to_dict().items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)


@app.command()
def revoke(
    site: Annotated[str, typer.Argument(help="The site to cut off.")],
    config: ConfigOption = None,
    reason: ReasonOption = "revoked by an operator",
) -> None:
    """Revoke a site's keys: the control plane stops serving it at once."""
    plane = open_local(config)
    revoke_device(load_pki(plane.settings.pki_dir), site, reason=reason)
    plane.audit.record(
        actor=operator(), action="fleet.revoke", subject=site, detail={"reason": reason}
    )
    console.print(f"{site} revoked; its connection is refused from now on")
