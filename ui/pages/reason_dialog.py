"""The dialog every change goes through: it asks why (the reason goes into the audit log).

Build one per page, outside anything that refreshes, and `await dialog.ask(...)` from a
button's handler: it returns the answer, or None when the person cancels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nicegui import ui

NEEDS_REASON = "Say why: the reason goes into the audit log."


@dataclass(frozen=True, kw_only=True, slots=True)
class Answer:
    """What the person confirmed: the reason, and the option chosen when there was a choice."""

    reason: str
    choice: str | None = None


class ReasonDialog:
    """A dialog with a title, an optional choice, a reason and Confirm / Cancel."""

    def __init__(self) -> None:
        with ui.dialog() as self._dialog, ui.card().classes("min-w-96"):
            self._title = ui.label().classes("text-lg").mark("dialog-title")
            self._choice = ui.select({}, label="Which").classes("w-full").mark("dialog-choice")
            self._reason = ui.input("Reason").classes("w-full").mark("dialog-reason")
            with ui.row().classes("justify-end w-full"):
                ui.button("Cancel", on_click=lambda: self._dialog.submit(None)).props("flat")
                ui.button("Confirm", on_click=self._confirm).mark("dialog-confirm")

    async def ask(
        self, title: str, *, choices: Mapping[str, str] | None = None, chosen: str | None = None
    ) -> Answer | None:
        """Open the dialog; return the answer, or None if it was cancelled."""
        self._title.text = title
        self._reason.value = ""
        self._choice.set_options(dict(choices or {}), value=chosen)
        self._choice.visible = choices is not None
        answer = await self._dialog
        return answer if isinstance(answer, Answer) else None

    def _confirm(self) -> None:
        reason = (self._reason.value or "").strip()
        if not reason:
            ui.notify(NEEDS_REASON, type="warning")
            return
        if self._choice.visible and not self._choice.value:
            ui.notify("Choose one first.", type="warning")
            return
        choice = str(self._choice.value) if self._choice.visible else None
        self._dialog.submit(Answer(reason=reason, choice=choice))
