"""Options every operator command shares."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML settings file (its \\[control] table).", show_default=False
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why: kept in the audit log.")]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="EDGEWARD_CONTROL_URL",
        help="A remote control plane's dashboard address: talk to its HTTP API, not this host's "
        "database.",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="EDGEWARD_TOKEN",
        help="The API token for --url (ew_...).",
        show_default=False,
    ),
]


def operator() -> str:
    """Return who is acting, for the audit log (the login name on this host)."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"
