"""The audit page: the log newest first, filters, paging, verifying the chain, exporting it."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User

from control_plane.operations import Operations
from tests.ui.conftest import open_as


@pytest.mark.parametrize("name", ["admin", "operator", "auditor"])
async def test_every_role_sees_the_log_and_may_verify_and_export(
    user: User, operations: Operations, name: str
) -> None:
    await open_as(user, name, "/audit")
    await user.should_see(marker="audit-entries")
    await user.should_see("user.add")
    await user.should_see("rollout.start")
    await user.should_see(marker="action-verify-audit")
    await user.should_see(marker="action-export-audit")


async def test_the_log_filters_by_action_prefix_and_actor(
    user: User, operations: Operations
) -> None:
    await open_as(user, "auditor", "/audit")
    user.find(marker="filter-action").type("user")
    user.find(marker="filter-actor").type("admin")
    user.find("Filter").click()

    await user.should_see("user.login")
    await user.should_not_see("rollout.start")
    await user.should_not_see("user.add")  # added by "test", not by admin


async def test_a_filter_that_matches_nothing_says_so(user: User, operations: Operations) -> None:
    await open_as(user, "auditor", "/audit")
    user.find(marker="filter-subject").type("no-such-subject")
    user.find("Filter").click()

    await user.should_see("No audit entry matches these filters.")


async def test_older_entries_page_back(user: User, operations: Operations) -> None:
    for index in range(60):
        operations.plane.audit.record(actor="bot", action="test.fill", subject=f"item-{index:03d}")
    await open_as(user, "auditor", "/audit")
    # Fifty to a page: the auditor's login, then item-059 down to item-011.
    await user.should_see("item-059")
    await user.should_see("item-011")
    await user.should_not_see("item-010")

    user.find("Older entries").click()

    await user.should_see("item-010")
    await user.should_not_see("item-011")


async def test_verify_says_the_chain_is_whole(user: User, operations: Operations) -> None:
    await open_as(user, "auditor", "/audit")
    user.find(marker="action-verify-audit").click()
    await user.should_see("The chain is whole")


async def test_verify_names_the_broken_entry(user: User, operations: Operations) -> None:
    with operations.plane.writer.transaction() as db:
        # Someone with the database file drops the guard and rewrites history.
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor = 'mallory' WHERE id = 2")
    await open_as(user, "auditor", "/audit")
    user.find(marker="action-verify-audit").click()
    await user.should_see("The chain is broken at entry 2")


async def test_export_downloads_json_lines_and_is_audited(
    user: User, operations: Operations
) -> None:
    await open_as(user, "auditor", "/audit")
    user.find(marker="action-export-audit").click()

    response = await user.download.next(timeout=5)
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["id"] == 1
    assert {"user.add", "user.login"} <= {line["action"] for line in lines}
    exported = operations.plane.audit.search(action_prefix="audit.export")
    assert [e.actor for e in exported] == ["auditor"]
