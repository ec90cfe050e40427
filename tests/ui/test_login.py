"""Logging in to the dashboard: the login page, lockout, session expiry, logout."""

from __future__ import annotations

from nicegui.testing import User

from control_plane.operations import Operations
from tests.ui.conftest import login


async def test_pages_need_a_login(user: User, operations: Operations) -> None:
    await user.open("/")
    await user.should_see("Log in")
    await user.should_not_see("Sites online")


async def test_an_admin_logs_in_and_sees_the_overview(user: User, operations: Operations) -> None:
    await login(user, "admin")
    await user.should_see("Sites online")
    await user.should_see("3 / 3")
    await user.should_see("admin (admin)")
