"""The fleet page: every role sees every site; only an admin may revoke one."""

from __future__ import annotations

import time
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from control_plane.access import AccessDenied, Principal, Role
from control_plane.operations import Operations
from tests.ui.conftest import login
from tests.ui.state import SITES
from ui.pages.fleet import ROWS_PER_PAGE, page_of


async def open_fleet(user: User, name: str) -> None:
    """Log in as `name` and open the fleet page."""
    await login(user, name)
    await user.should_see(marker="who")
    await user.open("/fleet")


def site_rows(user: User) -> dict[str, dict[str, Any]]:
    """Return the fleet table's rows by site."""
    (table,) = user.find(kind=ui.table, marker="sites").elements
    return {row["site"]: row for row in table.rows}


def choose(user: User, marker: str, value: str) -> None:
    """Set the select marked `marker` to `value`."""
    (select,) = user.find(kind=ui.select, marker=marker).elements
    select.value = value


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_sees_every_site(user: User, role: Role) -> None:
    await open_fleet(user, role.value)
    await user.should_see("3 of 3 sites online, 0 revoked.")
    rows = site_rows(user)
    assert sorted(rows) == list(SITES)
    assert rows["site-a"]["status"] == "online"
    assert rows["site-a"]["model"] == "v1"
    assert rows["site-b"]["live_mae"] == "0.11"
    assert rows["site-a"]["enrollment"] == "enrolled"


MAY_REVOKE = [("admin", True), ("operator", False), ("auditor", False)]


@pytest.mark.parametrize(("role", "may"), MAY_REVOKE)
async def test_only_an_admin_sees_revoke(user: User, role: str, may: bool) -> None:
    await open_fleet(user, role)
    await user.should_see("3 of 3 sites online")
    if may:
        await user.should_see(marker="action-revoke-site")
    else:
        await user.should_not_see(marker="action-revoke-site")
        await user.should_not_see("Revoke a site")


async def test_an_admin_revokes_a_site(user: User, operations: Operations) -> None:
    await open_fleet(user, "admin")
    user.find(marker="action-revoke-site").click()
    await user.should_see("Revoke a site: it can no longer connect")
    choose(user, "dialog-choice", "site-b")
    user.find(marker="dialog-reason").type("stolen from the cabinet")
    user.find(marker="dialog-confirm").click()
    await user.should_see("site-b is revoked.")
    await user.should_see("3 of 3 sites online, 1 revoked.")
    assert site_rows(user)["site-b"]["enrollment"] == "revoked"
    entry = operations.plane.audit.search(action_prefix="fleet.revoke", limit=1)[0]
    assert (entry.actor, entry.subject) == ("admin", "site-b")


async def test_revoking_from_a_row_needs_a_reason(user: User, operations: Operations) -> None:
    await open_fleet(user, "admin")
    user.find(marker="sites").trigger("revoke", "site-c")
    await user.should_see("Revoke a site: it can no longer connect")
    user.find(marker="dialog-confirm").click()
    await user.should_see("Say why: the reason goes into the audit log.")
    user.find(marker="dialog-reason").type("decommissioned")
    user.find(marker="dialog-confirm").click()
    await user.should_see("site-c is revoked.")
    assert site_rows(user)["site-c"]["enrollment"] == "revoked"


async def test_the_table_follows_new_heartbeats(user: User, operations: Operations) -> None:
    await open_fleet(user, "operator")
    await user.should_see("3 of 3 sites online")
    fleet = operations.plane.fleet
    fleet.hello(
        site="site-d", agent_version="t", active_version=2, previous_version=1, schema_hash="f"
    )
    fleet.heartbeat(
        site="site-d",
        active_version=2,
        health={},
        quality={"live_mae": 0.2, "alarm_rate": 0.05, "inference_p95_ms": 4.31},
        now=time.time(),
    )
    fleet.flush()
    (timer,) = user.find(kind=ui.timer).elements
    with user:
        await timer.callback()  # type: ignore[misc]
    await user.should_see("4 of 4 sites online, 0 revoked.")
    row = site_rows(user)["site-d"]
    assert (row["model"], row["alarm_rate"], row["latency"]) == ("v2", "5.0%", "4.3 ms")
    assert row["enrollment"] == "unknown"


def test_an_auditor_cannot_revoke_through_the_service(operations: Operations) -> None:
    auditor = Principal(name="auditor", role=Role.AUDITOR)
    with pytest.raises(AccessDenied, match="not allowed to revoke a site"):
        operations.revoke_site(auditor, "site-a", reason="curious")
    assert {s.site: s.enrollment for s in operations.sites(auditor)}["site-a"] == "enrolled"


def _rows(count: int) -> list[dict[str, Any]]:
    return [
        {"site": f"site-{i:03d}", "status": "online" if i % 2 else "offline"} for i in range(count)
    ]


def test_a_page_holds_its_slice_of_the_sorted_rows() -> None:
    rows, shown = page_of(_rows(60), "", {"page": 2, "rowsPerPage": 25, "sortBy": "site"})
    assert [row["site"] for row in rows] == [f"site-{i:03d}" for i in range(25, 50)]
    assert (shown["page"], shown["rowsNumber"]) == (2, 60)


def test_paging_sorts_descending_and_clamps_past_the_end() -> None:
    rows, shown = page_of(
        _rows(60), "", {"page": 9, "rowsPerPage": 25, "sortBy": "site", "descending": True}
    )
    assert shown["page"] == 3
    assert [row["site"] for row in rows] == [f"site-{i:03d}" for i in range(9, -1, -1)]


def test_search_keeps_matching_rows_and_counts_them() -> None:
    rows, shown = page_of(_rows(60), " OFFline ", {"page": 1, "rowsPerPage": 10})
    assert shown["rowsNumber"] == 30
    assert len(rows) == 10
    assert all(row["status"] == "offline" for row in rows)


async def test_the_browser_asks_for_another_page(user: User, operations: Operations) -> None:
    now = time.time()
    for index in range(30):
        operations.plane.fleet.heartbeat(
            site=f"site-x{index:02d}", active_version=1, health={}, quality={}, now=now
        )
    operations.plane.fleet.flush()
    await open_fleet(user, "auditor")
    await user.should_see("33 of 33 sites online")
    table = user.find(kind=ui.table, marker="sites").elements.pop()
    assert len(table.rows) == ROWS_PER_PAGE
    asked = {**table.pagination, "page": 2}
    user.find(marker="sites").trigger("request", {"pagination": asked})
    # site-a, -b and -c sort first, so the second page holds x22 to x29.
    assert [row["site"] for row in table.rows] == [f"site-x{i:02d}" for i in range(22, 30)]
    assert table.pagination["rowsNumber"] == 33
    user.find(marker="fleet-search").type("site-b")
    assert [row["site"] for row in table.rows] == ["site-b"]
    assert table.pagination == {**asked, "page": 1, "rowsNumber": 1}
