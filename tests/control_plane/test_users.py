"""Accounts, logins, sessions and API tokens over the real control database.

Time moves with a fake clock; argon2 runs at its cheapest cost (the parameters are not what
these tests are about, the hash format is).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from control_plane.access import NotAuthenticated, Role
from control_plane.settings import DashboardSettings
from control_plane.state import AuditLog, Writer, open_control_db
from control_plane.users import (
    TOKEN_PREFIX,
    AccountLocked,
    AccountStore,
    Authenticator,
    LoginFailed,
    UserError,
    WeakPassword,
)
from tests.fakes.clock import FakeClock
from tests.ui.state import fast_hasher

NOW = 1_796_300_000.0
PASSWORD = "correct horse battery"
SETTINGS = DashboardSettings(max_failed_logins=3, lockout_s=600.0, session_ttl_s=3600.0)


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    return Writer(open_control_db(tmp_path))


@pytest.fixture
def audit(writer: Writer) -> AuditLog:
    return AuditLog(writer)


@pytest.fixture
def accounts(writer: Writer, audit: AuditLog) -> AccountStore:
    store = AccountStore(writer, audit, hasher=fast_hasher())
    for role in Role:
        store.add(role.value, role, PASSWORD, actor="test")
    return store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def auth(
    writer: Writer, audit: AuditLog, accounts: AccountStore, clock: FakeClock
) -> Authenticator:
    return Authenticator(writer, audit, accounts, SETTINGS, clock=clock)


def stored_hash(writer: Writer, name: str) -> str:
    row = writer.db.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
    return str(row[0])


# -- accounts ------------------------------------------------------------------------


def test_an_argon2id_hash_is_stored_never_the_password(
    writer: Writer, accounts: AccountStore
) -> None:
    digest = stored_hash(writer, "admin")

    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    dump = "\n".join(writer.db.conn.iterdump())
    assert PASSWORD not in dump


@pytest.mark.parametrize(
    ("password", "message"),
    [("short one", "at least 12 characters"), ("aaaaaaaaaaaaaaab", "more than three distinct")],
)
def test_a_weak_password_is_refused(accounts: AccountStore, password: str, message: str) -> None:
    with pytest.raises(WeakPassword, match=message):
        accounts.add("dana", Role.OPERATOR, password, actor="admin")
    assert accounts.find("dana") is None


@pytest.mark.parametrize("name", ["Dana", "", "a b", "x" * 65])
def test_a_bad_account_name_is_refused(accounts: AccountStore, name: str) -> None:
    with pytest.raises(UserError, match="An account name has 1 to 64 characters"):
        accounts.add(name, Role.OPERATOR, PASSWORD, actor="admin")


def test_a_taken_name_is_refused(accounts: AccountStore) -> None:
    with pytest.raises(UserError, match="already exists"):
        accounts.add("operator", Role.AUDITOR, PASSWORD, actor="admin")


def test_the_last_admin_cannot_be_disabled(accounts: AccountStore) -> None:
    with pytest.raises(UserError, match="last enabled admin"):
        accounts.set_disabled("admin", True, actor="admin")

    accounts.add("second", Role.ADMIN, PASSWORD, actor="admin")
    assert accounts.set_disabled("admin", True, actor="second").disabled


def test_changes_to_accounts_are_audited(accounts: AccountStore, audit: AuditLog) -> None:
    accounts.set_disabled("operator", True, actor="admin")
    accounts.set_disabled("operator", False, actor="admin")
    accounts.unlock("operator", actor="admin")

    actions = [(e.actor, e.action, e.subject) for e in audit.search(subject="operator")]
    assert actions[:3] == [
        ("admin", "user.unlock", "operator"),
        ("admin", "user.enable", "operator"),
        ("admin", "user.disable", "operator"),
    ]


# -- logins and lockout --------------------------------------------------------------


def test_a_login_opens_a_session(auth: Authenticator, clock: FakeClock) -> None:
    session = auth.login("operator", PASSWORD)

    assert session.principal.role is Role.OPERATOR
    assert session.expires_at == NOW + SETTINGS.session_ttl_s
    assert auth.session(session.secret).name == "operator"


def test_a_wrong_password_and_an_unknown_name_fail_alike(auth: Authenticator) -> None:
    with pytest.raises(LoginFailed, match="Wrong account name or password") as wrong:
        auth.login("operator", "not the password")
    with pytest.raises(LoginFailed, match="Wrong account name or password") as unknown:
        auth.login("nobody", PASSWORD)
    assert type(wrong.value) is type(unknown.value) is LoginFailed


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    auth: Authenticator, accounts: AccountStore, clock: FakeClock
) -> None:
    for _ in range(2):
        with pytest.raises(LoginFailed):
            auth.login("operator", "not the password")
    with pytest.raises(AccountLocked, match="locked after 3 failed logins; try again in 10 min"):
        auth.login("operator", "not the password")

    with pytest.raises(AccountLocked):
        auth.login("operator", PASSWORD)

    clock.advance(SETTINGS.lockout_s + 1)
    assert auth.login("operator", PASSWORD).principal.name == "operator"


def test_an_admin_unlocks_a_locked_account(
    auth: Authenticator, accounts: AccountStore, audit: AuditLog
) -> None:
    for _ in range(3):
        with pytest.raises(LoginFailed):
            auth.login("auditor", "not the password")
    assert accounts.get("auditor").locked(NOW)
    assert audit.search(action_prefix="user.locked")[0].subject == "auditor"

    accounts.unlock("auditor", actor="admin")

    assert auth.login("auditor", PASSWORD).principal.name == "auditor"


def test_a_success_resets_the_failure_count(auth: Authenticator, accounts: AccountStore) -> None:
    for _ in range(2):
        with pytest.raises(LoginFailed):
            auth.login("operator", "not the password")
    auth.login("operator", PASSWORD)

    assert accounts.get("operator").failed_logins == 0
    with pytest.raises(LoginFailed) as failed:
        auth.login("operator", "not the password")
    assert not isinstance(failed.value, AccountLocked)


def test_a_disabled_account_cannot_log_in(auth: Authenticator, accounts: AccountStore) -> None:
    accounts.set_disabled("operator", True, actor="admin")
    with pytest.raises(LoginFailed):
        auth.login("operator", PASSWORD)


# -- sessions ------------------------------------------------------------------------


def test_a_session_expires(auth: Authenticator, clock: FakeClock) -> None:
    session = auth.login("operator", PASSWORD)
    clock.advance(SETTINGS.session_ttl_s - 1)
    assert auth.session(session.secret).name == "operator"

    clock.advance(1)

    with pytest.raises(NotAuthenticated, match="Your session has ended"):
        auth.session(session.secret)


def test_logout_and_disabling_end_sessions(auth: Authenticator, accounts: AccountStore) -> None:
    mine = auth.login("operator", PASSWORD)
    theirs = auth.login("auditor", PASSWORD)

    auth.logout(mine.secret)
    accounts.set_disabled("auditor", True, actor="admin")

    for secret in (mine.secret, theirs.secret):
        with pytest.raises(NotAuthenticated):
            auth.session(secret)


def test_a_new_password_ends_sessions(auth: Authenticator, accounts: AccountStore) -> None:
    session = auth.login("operator", PASSWORD)
    accounts.set_password("operator", "another long secret", actor="admin")

    with pytest.raises(NotAuthenticated):
        auth.session(session.secret)
    assert auth.login("operator", "another long secret").principal.name == "operator"


def test_only_the_secrets_hash_is_stored(auth: Authenticator, writer: Writer) -> None:
    session = auth.login("operator", PASSWORD)
    _, secret = auth.issue_token("operator", label="ci", role=None, ttl_s=None, actor="t")
    dump = "\n".join(writer.db.conn.iterdump())

    assert session.secret not in dump
    assert secret not in dump


# -- API tokens ----------------------------------------------------------------------


def test_a_token_carries_its_owners_role_by_default(auth: Authenticator) -> None:
    token, secret = auth.issue_token("operator", label="ci", role=None, ttl_s=None, actor="admin")

    assert secret.startswith(TOKEN_PREFIX)
    assert token.role is Role.OPERATOR
    who = auth.bearer(secret)
    assert (who.name, who.role, who.via) == ("operator", Role.OPERATOR, "token")


def test_a_token_may_carry_less_than_its_owner(auth: Authenticator) -> None:
    _, secret = auth.issue_token(
        "admin", label="scraper", role=Role.AUDITOR, ttl_s=None, actor="admin"
    )
    assert auth.bearer(secret).role is Role.AUDITOR


@pytest.mark.parametrize(("owner", "role"), [("auditor", Role.OPERATOR), ("operator", Role.ADMIN)])
def test_a_tokens_role_cannot_exceed_its_owners(
    auth: Authenticator, owner: str, role: Role
) -> None:
    with pytest.raises(UserError, match=f"cannot carry the role {role}"):
        auth.issue_token(owner, label="ci", role=role, ttl_s=None, actor="admin")
    assert auth.tokens() == []


def test_a_token_needs_a_label(auth: Authenticator) -> None:
    with pytest.raises(UserError, match="needs a label"):
        auth.issue_token("operator", label="  ", role=None, ttl_s=None, actor="admin")


def test_a_revoked_token_is_refused(auth: Authenticator) -> None:
    token, secret = auth.issue_token("operator", label="ci", role=None, ttl_s=None, actor="a")
    auth.revoke_token(token.id, actor="admin")

    with pytest.raises(NotAuthenticated, match="not valid"):
        auth.bearer(secret)
    assert auth.token(token.id).revoked_at == NOW


def test_an_expired_token_is_refused(auth: Authenticator, clock: FakeClock) -> None:
    _, secret = auth.issue_token("operator", label="ci", role=None, ttl_s=60.0, actor="a")
    clock.advance(59)
    assert auth.bearer(secret).name == "operator"

    clock.advance(1)

    with pytest.raises(NotAuthenticated):
        auth.bearer(secret)


def test_a_disabled_owners_token_is_refused(auth: Authenticator, accounts: AccountStore) -> None:
    _, secret = auth.issue_token("operator", label="ci", role=None, ttl_s=None, actor="a")
    accounts.set_disabled("operator", True, actor="admin")

    with pytest.raises(NotAuthenticated):
        auth.bearer(secret)


def test_an_unknown_token_is_refused(auth: Authenticator) -> None:
    with pytest.raises(NotAuthenticated):
        auth.bearer(TOKEN_PREFIX + "made-up")


def test_a_tokens_last_use_is_recorded(auth: Authenticator, clock: FakeClock) -> None:
    token, secret = auth.issue_token("operator", label="ci", role=None, ttl_s=None, actor="a")
    assert auth.token(token.id).last_used_at is None

    auth.bearer(secret)

    assert auth.token(token.id).last_used_at == NOW
