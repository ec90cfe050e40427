"""Put the dashboard, the HTTP API and /metrics on NiceGUI's FastAPI app, and serve them.

`build` registers everything on NiceGUI's app for one `Operations` (the tests call it inside
NiceGUI's user simulation); `serve` builds and runs the web server in the control plane's
process (`edgeward control-plane serve`), in the calling thread until it is stopped.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from nicegui import app, ui
from nicegui.storage import Storage
from starlette.routing import Mount

from control_plane.operations import Operations
from ui.api import API_PREFIX, create_api
from ui.metrics import add_metrics_route
from ui.pages import register_pages
from ui.wiring import bind

TITLE = "Edgeward"


def build(operations: Operations) -> None:
    """Register the pages, the HTTP API and /metrics for `operations` on NiceGUI's app."""
    bind(operations)
    register_pages()
    mount_api(operations)


def mount_api(operations: Operations) -> None:
    """Mount the HTTP API at `API_PREFIX` and serve /metrics, replacing earlier ones.

    NiceGUI's test harness resets routes between tests but not mounts, so an earlier mount
    (over another test's operations) is removed first.
    """
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if not (isinstance(route, Mount) and route.path == API_PREFIX)
    ]
    app.mount(API_PREFIX, create_api(operations))
    add_metrics_route(app, operations)


def use_storage(directory: Path) -> None:
    """Keep NiceGUI's per-browser storage (only the session secret) under `directory`."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    Storage.path = directory.resolve()
    app.storage = Storage()


def serve(operations: Operations, *, host: str, port: int, state_dir: Path) -> None:
    """Build the dashboard and serve it until the process is asked to stop."""
    use_storage(state_dir / "dashboard")
    build(operations)
    ui.run(
        host=host,
        port=port,
        title=TITLE,
        reload=False,
        show=False,
        show_welcome_message=False,
        # A fresh secret per start: the cookie only keys storage, and sessions are checked
        # against the database anyway; a restart asks people to log in again.
        storage_secret=secrets.token_urlsafe(32),
        uvicorn_logging_level="warning",
    )
