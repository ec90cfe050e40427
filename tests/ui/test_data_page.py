"""The data page: ingest and quarantine per site, quarantine by reason, schemas, retention."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from control_plane.operations import Operations
from tests.ui.conftest import open_as

ANY_ACTION = ("approve", "deny", "promote", "revoke-site", "add-user", "issue-token")


@pytest.mark.parametrize("name", ["admin", "operator", "auditor"])
async def test_every_role_sees_the_fleets_data(
    user: User, operations: Operations, name: str
) -> None:
    await open_as(user, name, "/data")
    await user.should_see(marker="data-sites")
    await user.should_see("site-a")
    await user.should_see("12.0")  # site-c's ingest rate
    await user.should_see("range 3")
    await user.should_see(marker="quarantine-chart")
    await user.should_see("range: 9 records quarantined recently.")
    await user.should_see("Every reporting site uses the same schema (ffffffffffff).")
    await user.should_see("edgeward agent status --data-dir")
    await user.should_see("quarantine entries for 30 days")
    for action in ANY_ACTION:
        await user.should_not_see(marker=f"action-{action}")


async def test_two_schemas_in_the_fleet_are_pointed_out(user: User, operations: Operations) -> None:
    operations.plane.fleet.hello(
        site="site-b",
        agent_version="test",
        active_version=1,
        previous_version=None,
        schema_hash="a" * 64,
    )
    await open_as(user, "auditor", "/data")
    await user.should_see("The fleet runs 2 schema versions:")
    await user.should_see("aaaaaaaaaaaa: site-b")
    await user.should_see("ffffffffffff: site-a, site-c")
