"""`edgeward users add|list|disable|enable|unlock|token ...` on a tmp control plane."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_plane.access import NotAuthenticated
from control_plane.local import open_local
from control_plane.settings import DashboardSettings
from control_plane.users import AccountStore, Authenticator, LoginFailed, UserError, WeakPassword
from edgeward.cli.main import cli, run

PASSWORD = "correct horse battery"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Return a settings file for an empty control plane under `tmp_path`."""
    path = tmp_path / "control.toml"
    path.write_text(
        f"""
[control]
state_dir = "{tmp_path / "state"}"
registry_dir = "{tmp_path / "registry"}"
pki_dir = "{tmp_path / "pki"}"
"""
    )
    return path


def invoke(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["users", *args, "--config", str(config)], input=stdin, terminal_width=200
    )
    return result.exit_code, result.output


def refused(config: Path, *args: str, stdin: str | None = None) -> BaseException | None:
    """Run a command that must fail; return the error it raised."""
    result = CliRunner().invoke(cli, ["users", *args, "--config", str(config)], input=stdin)
    assert result.exit_code != 0
    return result.exception


def stores(config: Path) -> tuple[AccountStore, Authenticator]:
    plane = open_local(config)
    accounts = AccountStore(plane.writer, plane.audit)
    return accounts, Authenticator(plane.writer, plane.audit, accounts, DashboardSettings())


def test_add_makes_a_password_and_shows_it_once(config: Path) -> None:
    code, output = invoke(config, "add", "root", "--role", "admin", "--json")

    assert code == 0, output
    made = json.loads(output)
    assert (made["name"], made["role"]) == ("root", "admin")
    session = stores(config)[1].login("root", made["password"])
    assert session.principal.name == "root"
    code, listed = invoke(config, "list", "--json")
    assert "password" not in listed


def test_add_reads_the_password_from_stdin(config: Path) -> None:
    code, output = invoke(config, "add", "dana", "--role", "auditor", "--password-stdin",
                          stdin=PASSWORD + "\n")  # fmt: skip

    assert code == 0, output
    assert PASSWORD not in output
    assert stores(config)[1].login("dana", PASSWORD).principal.role == "auditor"


def test_add_refuses_a_weak_password_with_a_sentence(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = sys.stdin
    sys.stdin = io.StringIO("short\n")
    try:
        with pytest.raises(SystemExit) as exited:
            run(["users", "add", "dana", "--role", "operator", "--password-stdin",
                 "--config", str(config)])  # fmt: skip
    finally:
        sys.stdin = stdin

    assert exited.value.code == WeakPassword.exit_code != 0
    assert capsys.readouterr().err == "error: A password needs at least 12 characters.\n"
    assert stores(config)[0].find("dana") is None


def test_list_disable_enable_unlock(config: Path) -> None:
    for name, role in (("root", "admin"), ("dana", "operator")):
        assert invoke(config, "add", name, "--role", role)[0] == 0
    accounts, auth = stores(config)
    for _ in range(5):
        with pytest.raises(LoginFailed):
            auth.login("dana", "not the password")

    code, output = invoke(config, "list")
    assert code == 0, output
    assert "locked" in output

    assert invoke(config, "unlock", "dana")[0] == 0
    assert not accounts.get("dana").locked(1e12)
    assert invoke(config, "disable", "dana")[0] == 0
    assert accounts.get("dana").disabled
    assert "disabled" in invoke(config, "list")[1]
    assert invoke(config, "enable", "dana")[0] == 0
    assert not accounts.get("dana").disabled
    actions = [e.action for e in open_local(config).audit.search(subject="dana")]
    assert actions[:3] == ["user.enable", "user.disable", "user.unlock"]
    assert open_local(config).audit.search(subject="dana")[0].actor.startswith("cli:")


def test_the_last_admin_cannot_be_disabled(config: Path) -> None:
    assert invoke(config, "add", "root", "--role", "admin")[0] == 0

    error = refused(config, "disable", "root")

    assert isinstance(error, UserError)
    assert str(error) == "The last enabled admin cannot be disabled."


def test_token_issue_list_revoke(config: Path) -> None:
    assert invoke(config, "add", "dana", "--role", "operator")[0] == 0

    code, output = invoke(config, "token", "issue", "dana", "--label", "ci", "--json")
    assert code == 0, output
    issued = json.loads(output)
    auth = stores(config)[1]
    assert auth.bearer(issued["secret"]).role == "operator"

    code, output = invoke(config, "token", "list", "--json")
    assert code == 0, output
    [listed] = json.loads(output)
    assert (listed["id"], listed["label"]) == (issued["id"], "ci")
    assert issued["secret"] not in output

    assert invoke(config, "token", "revoke", str(issued["id"]))[0] == 0
    assert "revoked" in invoke(config, "token", "list")[1]
    with pytest.raises(NotAuthenticated):
        auth.bearer(issued["secret"])


def test_a_token_cannot_carry_more_than_its_owner(config: Path) -> None:
    assert invoke(config, "add", "dana", "--role", "auditor")[0] == 0

    error = refused(config, "token", "issue", "dana", "--label", "x", "--role", "admin")

    assert isinstance(error, UserError)
    assert "cannot carry the role admin" in str(error)
    assert stores(config)[1].tokens() == []
