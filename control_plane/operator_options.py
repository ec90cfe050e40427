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


def operator() -> str:
    """Return who is acting, for the audit log (the login name on this host)."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"
