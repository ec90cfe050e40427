"""The users page: admins only; accounts, adding, disabling, unlocking; API tokens."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from control_plane.access import Role
from control_plane.operations import Operations
from tests.ui.conftest import open_as

USER_ACTIONS = ("add-user", "disable-user", "unlock-user", "issue-token", "revoke-token")


async def test_an_admin_sees_every_account_and_its_state(
    user: User, operations: Operations
) -> None:
    operations.auth.issue_token("operator", label="ci", role=None, ttl_s=None, actor="test")
    operations.accounts.set_disabled("auditor", True, actor="test")
    await open_as(user, "admin", "/users")
    await user.should_see(marker="accounts")
    await user.should_see("disabled")
    await user.should_see(marker="enable-auditor")
    await user.should_see(marker="disable-operator")
    await user.should_see(marker="tokens")
    await user.should_see("ci")
    await user.should_see(marker="action-revoke-token")


@pytest.mark.parametrize("name", ["operator", "auditor"])
async def test_other_roles_get_the_refusal_sentence(
    user: User, operations: Operations, name: str
) -> None:
    await open_as(user, name, "/users")
    await user.should_see(f"Your role ({name}) cannot open this page.")
    await user.should_not_see(marker="accounts")
    for action in USER_ACTIONS:
        await user.should_not_see(marker=f"action-{action}")


async def test_an_admin_adds_a_user(user: User, operations: Operations) -> None:
    await open_as(user, "admin", "/users")
    user.find(marker="action-add-user").click()
    user.find(marker="new-name").type("dana")
    user.find(marker="new-password").type("a long enough secret")
    user.find(marker="confirm").click()

    await user.should_see("Account dana created (operator).", retries=30)
    assert operations.accounts.get("dana").role is Role.OPERATOR
    await user.should_see(marker="disable-dana")


async def test_a_weak_password_is_refused_with_a_sentence(
    user: User, operations: Operations
) -> None:
    await open_as(user, "admin", "/users")
    user.find(marker="action-add-user").click()
    user.find(marker="new-name").type("dana")
    user.find(marker="new-password").type("short")
    user.find(marker="confirm").click()

    await user.should_see("A password needs at least 12 characters.", retries=30)
    assert operations.accounts.find("dana") is None


async def test_an_admin_issues_a_token_and_sees_its_secret_once(
    user: User, operations: Operations
) -> None:
    await open_as(user, "admin", "/users")
    user.find(marker="action-issue-token").click()
    user.find(marker="token-label").type("grafana")
    user.find(marker="confirm").click()

    await user.should_see("Copy the secret now: it is shown only this once.", retries=30)
    shown = next(iter(user.find(marker="token-secret").elements))
    assert isinstance(shown, ui.input)
    assert operations.auth.bearer(shown.value).name == "admin"
    [token] = operations.auth.tokens()
    assert token.label == "grafana"


async def test_an_admin_revokes_a_token(user: User, operations: Operations) -> None:
    token, _ = operations.auth.issue_token(
        "operator", label="ci", role=None, ttl_s=None, actor="test"
    )
    await open_as(user, "admin", "/users")
    user.find(marker=f"revoke-token-{token.id}").click()

    await user.should_see(f"Token {token.id} revoked.", retries=30)
    assert operations.auth.token(token.id).revoked_at is not None
    await user.should_see("revoked")


async def test_an_admin_disables_and_unlocks_accounts(user: User, operations: Operations) -> None:
    with operations.plane.writer.transaction() as db:
        db.execute("UPDATE users SET failed_logins = 3, locked_until = 4e9 WHERE name = 'auditor'")
    await open_as(user, "admin", "/users")
    await user.should_see("locked")
    user.find(marker="unlock-auditor").click()
    await user.should_see("auditor unlocked.", retries=30)
    assert not operations.accounts.get("auditor").locked(0)

    user.find(marker="disable-operator").click()
    await user.should_see("operator disabled.", retries=30)
    assert operations.accounts.get("operator").disabled


async def test_an_admin_cannot_disable_their_own_account(
    user: User, operations: Operations
) -> None:
    await open_as(user, "admin", "/users")
    user.find(marker="disable-admin").click()
    await user.should_see("You cannot disable your own account.", retries=30)
    assert not operations.accounts.get("admin").disabled
