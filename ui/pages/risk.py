"""Risk: the approval queue with each decision's evidence and every screening layer's verdict;
approve or deny with a comment; the history and the screener's accuracy, refreshed live."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nicegui import ui

from control_plane.access import Permission, Principal
from control_plane.approvals import Approval
from control_plane.operations import ScreenerAccuracy
from ui.frame import act, load, number, when
from ui.pages.cells import cells
from ui.wiring import dashboard_settings, operations

CRITICAL_NEEDS_ADMIN = "Screened critical: only an admin can approve it (an override)."
HISTORY_COLUMNS = ("Decision", "Site", "Risk", "Status", "By", "Comment", "When (UTC)")
LAYER_COLUMNS = ("Layer", "Level", "Reasons")


def layer_rows(layers: Any) -> list[tuple[str, str, str]]:
    """Return a screening's layers (a list or a mapping of layer objects) as table rows."""
    if isinstance(layers, Mapping):
        named = [(str(name), value) for name, value in layers.items()]
    elif isinstance(layers, list):
        named = [("", value) for value in layers]
    else:
        return []
    rows = []
    for name, layer in named:
        if not isinstance(layer, Mapping):
            continue
        reasons = layer.get("reasons", [])
        rows.append(
            (
                str(layer.get("layer") or layer.get("name") or name or "—"),
                str(layer.get("level") or "—"),
                "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons),
            )
        )
    return rows


def _pairs(title: str, values: Any) -> None:
    """Show a mapping as `key: value` lines under a title (nothing when empty)."""
    if not isinstance(values, Mapping) or not values:
        return
    ui.label(title).classes("font-semibold")
    for key, value in values.items():
        ui.label(f"{key}: {number(value)}").classes("text-sm")


def ask_comment(title: str, verb: str, on_confirm: Callable[[str], Awaitable[bool]]) -> None:
    """Open a dialog asking why; call `on_confirm(comment)` and close when it returns True."""
    # Made in the page's layout, so a live refresh of the content does not take it away.
    with ui.context.client.layout, ui.dialog() as dialog, ui.card().classes("w-[28rem]"):
        ui.label(title).classes("text-lg")
        comment = ui.textarea("Comment").classes("w-full").mark("comment")
        problem = ui.label("").classes("text-negative")

        def close() -> None:
            if not dialog.is_deleted:
                dialog.close()
                dialog.delete()

        async def confirm() -> None:
            text = (comment.value or "").strip()
            if not text:
                problem.set_text("Write a comment saying why.")
                return
            if await on_confirm(text):
                close()

        with ui.row():
            ui.button(verb, on_click=confirm).mark("confirm")
            ui.button("Cancel", on_click=close).props("flat")
    dialog.open()


Refresh = Callable[[], Awaitable[object]]


def _verdict_buttons(who: Principal, approval: Approval, refresh: Refresh) -> None:
    """Draw Approve / Deny for a held decision, as far as `who` may use them."""
    if not who.can(Permission.DECIDE_APPROVAL):
        return
    decision_id = approval.decision_id

    async def approve(comment: str) -> bool:
        done = await act(operations().approve, who, decision_id, comment=comment)
        if done is not None:
            await refresh()
            ui.notify(f"Decision {decision_id} approved.", type="positive")
        return done is not None

    async def deny(comment: str) -> bool:
        done = await act(operations().deny, who, decision_id, comment=comment)
        if done is not None:
            await refresh()
            ui.notify(f"Decision {decision_id} denied.", type="positive")
        return done is not None

    title = f"{approval.summary or decision_id} ({approval.site})"
    with ui.row().classes("items-center"):
        if approval.risk != "critical" or who.can(Permission.OVERRIDE_CRITICAL):
            ui.button(
                "Approve",
                icon="check",
                on_click=lambda: ask_comment(f"Approve: {title}", "Approve", approve),
            ).props("color=positive").mark(f"action-approve approve-{decision_id}")
        else:
            ui.label(CRITICAL_NEEDS_ADMIN).classes("text-sm text-warning").mark("needs-admin")
        ui.button(
            "Deny", icon="block", on_click=lambda: ask_comment(f"Deny: {title}", "Deny", deny)
        ).props("color=negative").mark(f"action-deny deny-{decision_id}")


def held_card(who: Principal, approval: Approval, refresh: Refresh) -> None:
    """Draw one held decision: what it would do, why, how each layer screened it."""
    decision = approval.decision
    with ui.card().classes("w-full").mark(f"approval-{approval.decision_id}"):
        ui.label(approval.summary or approval.decision_id).classes("text-lg")
        ui.label(
            f"{approval.risk.capitalize()} risk at {approval.site}: {approval.action or '—'} on "
            f"{decision.get('target', '—')}, requested {when(approval.requested_at)} UTC, "
            f"expires {when(approval.expires_at)} UTC."
        )
        with ui.row().classes("gap-8"):
            with ui.column().classes("gap-0"):
                _pairs("Parameters", decision.get("parameters"))
            with ui.column().classes("gap-0"):
                _pairs("Evidence", decision.get("evidence"))
            with ui.column().classes("gap-0"):
                _pairs("Context", decision.get("context"))
        rationale = approval.screening.get("rationale")
        if rationale:
            ui.label(f"Why: {rationale}").classes("italic").mark("rationale")
        rows = layer_rows(approval.screening.get("layers"))
        if rows:
            ui.label(f"Screening layers (final level: {approval.risk})").classes("font-semibold")
            cells(LAYER_COLUMNS, rows, mark="screening-layers")
        else:
            ui.label("The site sent no per-layer screening for this decision.")
        _verdict_buttons(who, approval, refresh)


def _history_rows(history: list[Approval]) -> list[tuple[str, ...]]:
    return [
        (
            a.summary or a.decision_id,
            a.site,
            a.risk,
            a.status + (" (admin override)" if a.override else ""),
            a.actor or "—",
            a.comment or "—",
            when(a.decided_at),
        )
        for a in history
    ]


def _accuracy(accuracy: ScreenerAccuracy) -> None:
    ui.label("Screener accuracy").classes("text-lg")
    if accuracy.accuracy is None:
        ui.label("Nobody has judged a held decision yet.").mark("screener-accuracy")
        return
    ui.label(
        f"The screener's level matched people's verdicts for {accuracy.agreed} of "
        f"{accuracy.judged} judged decisions ({accuracy.accuracy:.0%})."
    ).mark("screener-accuracy")
    for level, row in accuracy.by_level.items():
        ui.label(f"Screened {level}: {row['agreed']} of {row['judged']} agreed.")


def _counts(counts: Mapping[str, Mapping[str, int]]) -> None:
    ui.label("Decision counts").classes("text-lg")
    titles = {
        "decisions_by_risk": "Decisions by risk",
        "reports_by_outcome": "Reports by outcome",
        "approvals_by_status": "Approvals by status",
    }
    for key, title in titles.items():
        values = counts.get(key) or {}
        text = ", ".join(f"{name} {count}" for name, count in values.items()) or "none"
        ui.label(f"{title}: {text}.")


async def risk_page(who: Principal) -> None:
    """Show the approval queue, history and the screener's figures, refreshed live."""

    @ui.refreshable
    async def content() -> None:
        ops = operations()
        pending = await load(ops.pending_approvals, who)
        history = await load(ops.approval_history, who)
        accuracy = await load(ops.screener_accuracy, who)
        counts = await load(ops.decision_counts, who)
        ui.label("Waiting for a verdict").classes("text-xl")
        if not pending:
            ui.label("No decision is waiting for a verdict.").mark("queue-empty")
        for approval in pending:
            held_card(who, approval, content.refresh)
        ui.label("History").classes("text-xl")
        if history:
            cells(HISTORY_COLUMNS, _history_rows(history), mark="approval-history")
        else:
            ui.label("No decision has been approved, denied or expired yet.")
        with ui.row().classes("gap-4 w-full"):
            with ui.card().classes("flex-1"):
                _accuracy(accuracy)
            with ui.card().classes("flex-1"):
                _counts(counts)

    await content()
    ui.timer(dashboard_settings().refresh_s, content.refresh)
