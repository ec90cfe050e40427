"""The login page: the only page open without a session."""

from __future__ import annotations

from urllib.parse import urlsplit

from nicegui import ui

from control_plane.access import NotAuthenticated
from ui.session import current_principal, log_in


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else the overview (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def register_login() -> None:
    """Register /login."""

    @ui.page("/login", title="Log in · Edgeward")
    async def login(next: str | None = None) -> None:
        target = safe_next(next)
        if await current_principal() is not None:
            ui.navigate.to(target)
            return

        async def submit() -> None:
            error.set_text("")
            try:
                await log_in(name.value.strip(), password.value)
            except NotAuthenticated as err:  # LoginFailed, AccountLocked
                error.set_text(str(err))
                password.set_value("")
                return
            ui.navigate.to(target)

        with ui.card().classes("absolute-center w-96"):
            ui.label("Edgeward").classes("text-2xl font-bold")
            name = ui.input("Account name").classes("w-full")
            password = ui.input("Password", password=True).classes("w-full")
            password.on("keydown.enter", submit)
            ui.button("Log in", on_click=submit).classes("w-full")
            error = ui.label("").classes("text-negative").mark("login-error")
