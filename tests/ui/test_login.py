"""Logging in to the dashboard: the login page, lockout, session expiry, logout."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from control_plane.operations import Operations
from tests.ui.conftest import login, open_as, until
from tests.ui.state import PASSWORD

LOCKED = "This account is locked after 3 failed logins"


def password_field(user: User) -> ui.input:
    """Return the login page's password input."""
    found = next(iter(user.find("Password").elements))
    assert isinstance(found, ui.input)
    return found


async def try_password(user: User, password: str) -> None:
    """Submit the login form with `password` and wait for the page's answer."""
    user.find("Password").type(password)
    user.find("Log in").click()
    # The page empties the password field when it refuses a login.
    await until(lambda: not password_field(user).value)


async def test_pages_need_a_login(user: User, operations: Operations) -> None:
    await user.open("/")
    await user.should_see("Log in")
    await user.should_not_see("Sites online")


async def test_an_admin_logs_in_and_sees_the_overview(user: User, operations: Operations) -> None:
    await login(user, "admin")
    await user.should_see("Sites online")
    await user.should_see("3 / 3")
    await user.should_see("admin (admin)")


async def test_a_wrong_password_is_refused_with_a_sentence(
    user: User, operations: Operations
) -> None:
    await login(user, "operator", "not the password")
    await user.should_see("Wrong account name or password.")
    await user.should_not_see("Sites online")


async def test_three_failures_lock_the_account_even_against_the_right_password(
    user: User, operations: Operations
) -> None:
    await user.open("/login")
    user.find("Account name").type("operator")
    for _ in range(3):
        await try_password(user, "not the password")
    await user.should_see(LOCKED)

    await try_password(user, PASSWORD)

    await user.should_see(LOCKED)
    await user.should_not_see("Sites online")
    assert operations.accounts.get("operator").locked_until is not None


async def test_an_unlocked_account_logs_in_again(user: User, operations: Operations) -> None:
    await user.open("/login")
    user.find("Account name").type("operator")
    for _ in range(3):
        await try_password(user, "not the password")
    operations.accounts.unlock("operator", actor="admin")

    user.find("Password").type(PASSWORD)
    user.find("Log in").click()

    await user.should_see("operator (operator)")


async def test_an_expired_session_sends_you_back_to_the_login(
    user: User, operations: Operations
) -> None:
    await open_as(user, "operator", "/risk")
    with operations.plane.writer.transaction() as db:
        db.execute("UPDATE sessions SET expires_at = 0")

    await user.open("/risk")

    await user.should_see("Log in")
    await user.should_not_see(marker="who")


async def test_logging_out_ends_the_session(user: User, operations: Operations) -> None:
    await open_as(user, "auditor", "/")
    user.find("Log out").click()
    await user.should_see("Log in")

    await user.open("/")

    await user.should_see("Log in")
    count = operations.plane.writer.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    assert count == 0
