"""Who is looking at a page: the login kept in NiceGUI's per-browser storage, checked each time.

Database calls run in a worker thread (`asyncio.to_thread`), never on the event loop.
Only the session secret sits in the browser's (server-side, signed-cookie keyed) storage; the
session itself lives in the control plane's database, so expiry, logout, a disabled account
and a changed password all take effect on the next page load or action.
"""

from __future__ import annotations

import asyncio
from typing import Final

from nicegui import app

from control_plane.access import NotAuthenticated, Principal
from control_plane.users import Session
from ui.wiring import operations

SESSION_KEY: Final = "edgeward_session"


async def current_principal() -> Principal | None:
    """Return who is logged in in this browser, or None (no session, or it ended)."""
    secret = app.storage.user.get(SESSION_KEY)
    if not isinstance(secret, str):
        return None
    try:
        return await asyncio.to_thread(operations().auth.session, secret)
    except NotAuthenticated:
        app.storage.user.pop(SESSION_KEY, None)
        return None


async def log_in(name: str, password: str) -> Session:
    """Check the password and keep the new session for this browser (raises LoginFailed)."""
    session = await asyncio.to_thread(operations().auth.login, name, password)
    app.storage.user[SESSION_KEY] = session.secret
    return session


async def log_out() -> None:
    """End this browser's session."""
    secret = app.storage.user.pop(SESSION_KEY, None)
    if isinstance(secret, str):
        await asyncio.to_thread(operations().auth.logout, secret)
