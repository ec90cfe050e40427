"""Fixtures for the dashboard: a seeded control plane and NiceGUI's simulated user over it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from nicegui.testing import User
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation

from control_plane.operations import Operations
from tests.ui.binding import use_operations
from tests.ui.state import PASSWORD, build_operations


@pytest.fixture
def operations(tmp_path: Path) -> Operations:
    """Return operations over a seeded control plane, bound for the dashboard."""
    built = build_operations(tmp_path)
    use_operations(built)
    return built


@pytest.fixture
async def user(
    operations: Operations, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> AsyncIterator[User]:
    """Return NiceGUI's simulated browser on the dashboard over `operations`.

    NiceGUI's own `user` fixture, set up after the operations its main file serves; like
    NiceGUI's, it fails a test that logged an error.
    """
    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        yield simulated
    errors = [r for r in caplog.get_records("call") if r.levelname == "ERROR"]
    assert not errors, f"the dashboard logged errors: {[r.getMessage() for r in errors]}"


async def login(user: User, name: str, password: str = PASSWORD) -> None:
    """Log in through the login page as `name`."""
    await user.open("/login")
    user.find("Account name").type(name)
    user.find("Password").type(password)
    user.find("Log in").click()


async def open_as(user: User, name: str, path: str) -> None:
    """Log in as `name`, wait until the login went through, then open `path`."""
    await login(user, name)
    await user.should_see(marker="who")
    await user.open(path)


async def until(condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Wait until `condition()` holds (the page's handlers run as background tasks)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
