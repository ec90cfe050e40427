"""The risk page: the queue with every layer's verdict, approving and denying, history, accuracy."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from control_plane.operations import Operations
from tests.ui.conftest import open_as
from tests.ui.state import CRITICAL, HIGH


async def decide(user: User, marker: str, comment: str) -> None:
    """Press a verdict button, write the comment and confirm."""
    user.find(marker=marker).click()
    user.find(marker="comment").type(comment)
    user.find(marker="confirm").click()


@pytest.mark.parametrize("name", ["admin", "operator", "auditor"])
async def test_every_role_sees_the_queue_with_each_layer(
    user: User, operations: Operations, name: str
) -> None:
    await open_as(user, name, "/risk")
    await user.should_see(marker=f"approval-{HIGH}")
    await user.should_see(marker=f"approval-{CRITICAL}")
    await user.should_see("Screening layers")
    await user.should_see("Why: Sleeping a cell at peak hour drops users onto its neighbours.")
    await user.should_see("the model rates it medium (71%)")
    await user.should_see("Evidence")
    await user.should_see("Nobody has judged a held decision yet.")


async def test_the_auditor_has_no_verdict_buttons(user: User, operations: Operations) -> None:
    await open_as(user, "auditor", "/risk")
    await user.should_see(marker=f"approval-{HIGH}")
    await user.should_not_see(marker="action-approve")
    await user.should_not_see(marker="action-deny")


async def test_an_operator_approves_a_high_decision_with_a_comment(
    user: User, operations: Operations
) -> None:
    await open_as(user, "operator", "/risk")
    await decide(user, f"approve-{HIGH}", "checked the neighbours' load")

    await user.should_see(f"Decision {HIGH} approved.")
    approval = operations.plane.approvals.get(HIGH)
    assert approval is not None
    assert approval.status == "approved"
    assert approval.actor == "operator"
    assert approval.comment == "checked the neighbours' load"
    await user.should_see("checked the neighbours' load")  # in the history
    # An approval says a high decision could have run: the screener did not agree.
    await user.should_see("Screened high: 0 of 1 agreed.")


async def test_a_verdict_needs_a_comment(user: User, operations: Operations) -> None:
    await open_as(user, "operator", "/risk")
    user.find(marker=f"deny-{HIGH}").click()
    user.find(marker="confirm").click()

    await user.should_see("Write a comment saying why.")
    approval = operations.plane.approvals.get(HIGH)
    assert approval is not None
    assert approval.status == "pending"


async def test_an_operator_cannot_approve_a_critical_decision(
    user: User, operations: Operations
) -> None:
    await open_as(user, "operator", "/risk")
    await user.should_see(marker=f"approval-{CRITICAL}")
    await user.should_not_see(marker=f"approve-{CRITICAL}")
    await user.should_see("only an admin can approve it")
    await user.should_see(marker=f"deny-{CRITICAL}")


async def test_an_admin_approves_a_critical_decision(user: User, operations: Operations) -> None:
    await open_as(user, "admin", "/risk")
    await decide(user, f"approve-{CRITICAL}", "an engineer is on site")

    await user.should_see(f"Decision {CRITICAL} approved.")
    approval = operations.plane.approvals.get(CRITICAL)
    assert approval is not None
    assert approval.status == "approved"
    assert approval.override


async def test_a_denial_shows_in_the_history(user: User, operations: Operations) -> None:
    await open_as(user, "operator", "/risk")
    await decide(user, f"deny-{HIGH}", "peak hour, too many users")

    await user.should_see(f"Decision {HIGH} denied.")
    await user.should_see(marker="approval-history")
    await user.should_see("peak hour, too many users")
    # The queue redraws after the verdict, as a background task: give it time under load.
    await user.should_not_see(marker=f"approval-{HIGH}", retries=100)
    approval = operations.plane.approvals.get(HIGH)
    assert approval is not None
    assert approval.status == "denied"
