"""Users (admins only): accounts and their state, adding, disabling and unlocking them;
API tokens, issuing one (its secret shown once) and revoking it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from nicegui import ui

from control_plane.access import Principal, Role
from control_plane.users import ApiToken, User
from ui.frame import act, load, when
from ui.pages.cells import Cell, cells
from ui.wiring import operations

ACCOUNT_COLUMNS = ("Name", "Role", "State", "Last login (UTC)", "")
TOKEN_COLUMNS = ("Id", "User", "Label", "Role", "State", "Last used (UTC)", "")
ROLES = [role.value for role in Role]
SAME_ROLE = "the account's role"
Refresh = Callable[[], Awaitable[object]]


def account_state(user: User, now: float) -> str:
    """Return `active`, `locked` or `disabled`."""
    return "disabled" if user.disabled else "locked" if user.locked(now) else "active"


def token_state(token: ApiToken, now: float) -> str:
    """Return `active`, `revoked` or `expired`."""
    return "active" if token.active(now) else "revoked" if token.revoked_at else "expired"


def _dialog(title: str) -> tuple[ui.dialog, ui.card]:
    """Open an empty dialog in the page's layout (a live refresh does not take it away)."""
    with ui.context.client.layout, ui.dialog() as dialog, ui.card().classes("w-96") as card:
        ui.label(title).classes("text-lg")
    dialog.open()
    return dialog, card


def _close(dialog: ui.dialog) -> None:
    if not dialog.is_deleted:
        dialog.close()
        dialog.delete()


def add_user_dialog(who: Principal, refresh: Refresh) -> None:
    """Ask for a new account's name, role and password, and create it."""
    dialog, card = _dialog("Add an account")
    with card:
        name = ui.input("New account name").classes("w-full").mark("new-name")
        role = ui.select(ROLES, value=Role.OPERATOR.value, label="Role").classes("w-full")
        password = ui.input("Initial password", password=True).classes("w-full")
        password.mark("new-password")

        async def create() -> None:
            made = await act(
                operations().add_user, who, name.value.strip(), Role(role.value), password.value
            )
            if made is not None:
                _close(dialog)
                await refresh()
                ui.notify(f"Account {made.name} created ({made.role}).", type="positive")

        with ui.row():
            ui.button("Create", on_click=create).mark("confirm")
            ui.button("Cancel", on_click=lambda: _close(dialog)).props("flat")


def issue_token_dialog(who: Principal, accounts: list[str], refresh: Refresh) -> None:
    """Ask whom a token is for and what for, issue it and show its secret once."""
    dialog, card = _dialog("Issue an API token")
    with card:
        owner = ui.select(accounts, value=who.name, label="Account").classes("w-full")
        label = ui.input("What the token is for").classes("w-full").mark("token-label")
        role = ui.select([SAME_ROLE, *ROLES], value=SAME_ROLE, label="Token role")
        role.classes("w-full")
        days = ui.number("Expires after (days, empty: never)", min=0.001).classes("w-full")

        async def issue() -> None:
            granted = None if role.value == SAME_ROLE else Role(role.value)
            ttl_s = float(days.value) * 86400 if days.value else None
            made = await act(
                operations().issue_token, who, owner.value, label=label.value,
                role=granted, ttl_s=ttl_s,
            )  # fmt: skip
            if made is None:
                return
            token, secret = made
            card.clear()
            with card:
                ui.label(f"Token {token.id} for {token.user} ({token.role})").classes("text-lg")
                ui.label("Copy the secret now: it is shown only this once.")
                ui.input("Secret", value=secret).props("readonly").classes("w-full").mark(
                    "token-secret"
                )
                ui.button("Done", on_click=lambda: _close(dialog))
            await refresh()

        with ui.row():
            ui.button("Issue", on_click=issue).mark("confirm")
            ui.button("Cancel", on_click=lambda: _close(dialog)).props("flat")


def _account_row(who: Principal, user: User, now: float, refresh: Refresh) -> list[Cell]:
    async def set_disabled(disabled: bool) -> None:
        if await act(operations().set_disabled, who, user.name, disabled=disabled):
            await refresh()
            ui.notify(f"{user.name} {'disabled' if disabled else 'enabled'}.")

    async def unlock() -> None:
        if await act(operations().unlock, who, user.name):
            await refresh()
            ui.notify(f"{user.name} unlocked.")

    def buttons() -> None:
        if user.disabled:
            ui.button("Enable", on_click=lambda: set_disabled(False)).props("flat dense").mark(
                f"action-disable-user enable-{user.name}"
            )
        else:
            ui.button("Disable", on_click=lambda: set_disabled(True)).props("flat dense").mark(
                f"action-disable-user disable-{user.name}"
            )
        if user.locked(now) or user.failed_logins:
            ui.button("Unlock", on_click=unlock).props("flat dense").mark(
                f"action-unlock-user unlock-{user.name}"
            )

    state = account_state(user, now)
    return [user.name, user.role.value, state, when(user.last_login_at), buttons]


def _token_row(who: Principal, token: ApiToken, now: float, refresh: Refresh) -> list[Cell]:
    async def revoke() -> None:
        if await act(operations().revoke_token, who, token.id):
            await refresh()
            ui.notify(f"Token {token.id} revoked.")

    def buttons() -> None:
        if token.active(now):
            ui.button("Revoke", on_click=revoke).props("flat dense color=negative").mark(
                f"action-revoke-token revoke-token-{token.id}"
            )

    state = token_state(token, now)
    return [
        str(token.id), token.user, token.label, token.role.value, state,
        when(token.last_used_at), buttons,
    ]  # fmt: skip


async def users_page(who: Principal) -> None:
    """Show accounts and API tokens with the actions an admin has on them."""

    @ui.refreshable
    async def content() -> None:
        accounts = await load(operations().users, who)
        tokens = await load(operations().tokens, who)
        now = time.time()
        with ui.row().classes("items-center"):
            ui.label("Accounts").classes("text-xl")
            ui.button(
                "Add user",
                icon="person_add",
                on_click=lambda: add_user_dialog(who, content.refresh),
            ).mark("action-add-user")
        rows = [_account_row(who, user, now, content.refresh) for user in accounts]
        cells(ACCOUNT_COLUMNS, rows, mark="accounts")
        names = [user.name for user in accounts if not user.disabled]
        with ui.row().classes("items-center"):
            ui.label("API tokens").classes("text-xl")
            ui.button(
                "Issue token",
                icon="key",
                on_click=lambda: issue_token_dialog(who, names, content.refresh),
            ).mark("action-issue-token")
        if tokens:
            token_rows = [_token_row(who, token, now, content.refresh) for token in tokens]
            cells(TOKEN_COLUMNS, token_rows, mark="tokens")
        else:
            ui.label("No API token has been issued.")

    await content()
