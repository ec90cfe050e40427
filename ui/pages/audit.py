"""Audit: the hash-chained log, newest first, filtered and paged; verify the chain; export it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from nicegui import ui

from control_plane.access import Permission, Principal
from control_plane.state import AuditEntry
from ui.frame import act, load, when
from ui.pages.cells import cells
from ui.wiring import operations

COLUMNS = ("#", "When (UTC)", "Actor", "Action", "Subject", "Detail")
PAGE_SIZES = (50, 200, 1000)
EXPORT_NAME = "edgeward-audit.jsonl"


@dataclass(kw_only=True, slots=True)
class AuditQuery:
    """What the page asks the log for: the filters and where the page starts."""

    actor: str = ""
    action: str = ""
    subject: str = ""
    limit: int = PAGE_SIZES[0]
    before_id: int | None = None


def export_bytes(who: Principal) -> bytes:
    """Return the whole audit log as JSON lines (blocking: run it in a worker thread)."""
    return "".join(operations().export_audit(who)).encode()


def chain_sentence(whole: bool, broken_at: int | None) -> str:
    """Return what a verification found, as a sentence."""
    if whole:
        return "The chain is whole: every entry matches its hash and the one before it."
    return (
        f"The chain is broken at entry {broken_at}: it or the entry before it was changed "
        "after it was written."
    )


def _row(entry: AuditEntry) -> tuple[str, ...]:
    detail = json.dumps(entry.detail, sort_keys=True) if entry.detail else "—"
    return (str(entry.id), when(entry.at), entry.actor, entry.action, entry.subject, detail)


def _tools(who: Principal) -> None:
    """Draw the verify and export buttons the role may use."""

    async def verify() -> None:
        found = await act(operations().verify_audit, who)
        if found is not None:
            verdict.set_text(chain_sentence(*found))
            verdict.classes(replace="text-positive" if found[0] else "text-negative")

    async def export() -> None:
        data = await act(export_bytes, who)
        if data is not None:
            ui.download.content(data, EXPORT_NAME, "application/x-ndjson")

    with ui.row().classes("items-center"):
        if who.can(Permission.VERIFY_AUDIT):
            ui.button("Verify chain", icon="verified", on_click=verify).mark("action-verify-audit")
        if who.can(Permission.EXPORT_AUDIT):
            ui.button("Export", icon="download", on_click=export).mark("action-export-audit")
    verdict = ui.label("").mark("audit-verdict")


async def audit_page(who: Principal) -> None:
    """Show the audit log with filters and paging, and the verify and export actions."""
    query = AuditQuery()

    @ui.refreshable
    async def entries() -> None:
        found = await load(
            operations().audit,
            who,
            actor=query.actor.strip(),
            action=query.action.strip(),
            subject=query.subject.strip(),
            before_id=query.before_id,
            limit=query.limit,
        )
        if not found:
            ui.label("No audit entry matches these filters.").mark("audit-empty")
            return
        start = "the newest" if query.before_id is None else f"before entry {query.before_id}"
        ui.label(f"{len(found)} entries, {start}, newest first.")
        cells(COLUMNS, (_row(entry) for entry in found), mark="audit-entries")
        if len(found) == query.limit:
            ui.button("Older entries", on_click=lambda: page_from(found[-1].id)).props("flat")

    def page_from(before_id: int | None) -> None:
        query.before_id = before_id
        entries.refresh()

    _tools(who)
    with ui.row().classes("items-end gap-4"):
        for label, field in (
            ("Actor", "actor"),
            ("Action prefix", "action"),
            ("Subject", "subject"),
        ):
            ui.input(label).bind_value(query, field).on(
                "keydown.enter", lambda: page_from(None)
            ).mark(f"filter-{field}")
        ui.select(list(PAGE_SIZES), label="Per page").bind_value(query, "limit").classes("w-28")
        ui.button("Filter", icon="filter_list", on_click=lambda: page_from(None))
        ui.button("Newest", icon="first_page", on_click=lambda: page_from(None)).props("flat")
    await entries()
