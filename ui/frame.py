"""The frame every page shares: header, navigation by role, and the helpers pages act through.

A page is one async function `body(who)` listed in `ui.pages.PAGES`; `register_pages` wraps
each in a login check and this frame. Navigation shows only the pages the role may open, and
pages show only the buttons the role may press (`who.can(...)`); the service layer checks the
permission again on every call, so a forged event changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

from nicegui import ui

from control_plane.access import Permission, Principal
from edgeward.errors import EdgewardError
from ui.session import current_principal, log_out

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

PageBody = Callable[[Principal], Awaitable[None]]
UNEXPECTED = "Something went wrong; the control plane's log has the details."


@dataclass(frozen=True, kw_only=True, slots=True)
class PageSpec:
    """One page: where it is, what it is called, and who may open it."""

    path: str
    title: str
    icon: str
    body: PageBody
    permission: Permission = Permission.VIEW


def register(pages: tuple[PageSpec, ...]) -> None:
    """Register every page (behind a login) and the navigation between them."""
    for spec in pages:
        _register(spec, pages)


def _register(spec: PageSpec, pages: tuple[PageSpec, ...]) -> None:
    @ui.page(spec.path, title=f"{spec.title} · Edgeward")
    async def page() -> None:
        who = await current_principal()
        if who is None:
            ui.navigate.to(f"/login?next={quote(spec.path)}")
            return
        with frame(spec, who, pages):
            if not who.can(spec.permission):
                ui.label(f"Your role ({who.role}) cannot open this page.").classes("text-negative")
                return
            await spec.body(who)


@contextmanager
def frame(spec: PageSpec, who: Principal, pages: tuple[PageSpec, ...]) -> Iterator[None]:
    """Draw the header and navigation; the page's content goes in the yielded column."""
    with ui.header().classes("items-center justify-between bg-slate-800"):
        ui.label("Edgeward").classes("text-lg font-bold")
        with ui.row().classes("items-center gap-1"):
            for other in pages:
                if who.can(other.permission):
                    ui.button(other.title, icon=other.icon, on_click=_go(other.path)).props(
                        "flat color=white" + (" outline" if other is spec else "")
                    )
        with ui.row().classes("items-center"):
            ui.label(f"{who.name} ({who.role})").mark("who")
            ui.button("Log out", icon="logout", on_click=_logout).props("flat color=white")
    with ui.column().classes("w-full p-4 gap-4"):
        ui.label(spec.title).classes("text-2xl")
        yield


def _go(path: str) -> Callable[[], None]:
    return lambda: ui.navigate.to(path)


async def _logout() -> None:
    await log_out()
    ui.navigate.to("/login")


async def act(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Run a blocking service call off the event loop; show its error as a sentence.

    Returns the call's result, or None after telling the person what went wrong.
    """
    try:
        return await asyncio.to_thread(function, *args, **kwargs)
    except EdgewardError as err:
        ui.notify(str(err), type="negative", multi_line=True)
    except Exception:
        log.exception("a dashboard action failed")
        ui.notify(UNEXPECTED, type="negative")
    return None


async def load(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking read off the event loop (errors propagate to the page)."""
    return await asyncio.to_thread(function, *args, **kwargs)


def when(timestamp: float | None) -> str:
    """Return a time for a table cell (UTC), or a dash."""
    if not timestamp:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))


def number(value: Any, digits: int = 3) -> str:
    """Return a number for a table cell, or a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)
