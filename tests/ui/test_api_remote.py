"""Operator commands given --url talk to the control plane's HTTP API with a token."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from control_plane import approvals_cli, fleet_cli, remote, rollout_cli
from control_plane.access import Role
from tests.ui.api_client import ApiFixture, api_over
from tests.ui.state import HIGH
from ui.api import API_PREFIX, create_api

URL = "http://control.example:8080"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiFixture:
    """Return the API; the CLI's HTTP client reaches it in process (no socket)."""
    built = api_over(tmp_path)
    served = FastAPI()
    served.mount(API_PREFIX, create_api(built.operations))

    def client(url: str, token: str) -> httpx.Client:
        assert url == URL
        return TestClient(
            served, base_url=url + API_PREFIX, headers={"Authorization": f"Bearer {token}"}
        )

    monkeypatch.setattr(remote, "client_factory", client)
    return built


def _token(api: ApiFixture, role: Role) -> str:
    return api.headers[role]["Authorization"].split()[1]


def test_fleet_list_reads_the_remote_sites(api: ApiFixture) -> None:
    result = CliRunner().invoke(
        fleet_cli.app, ["list", "--url", URL, "--token", _token(api, Role.AUDITOR), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [row["site"] for row in json.loads(result.output)] == ["site-a", "site-b", "site-c"]


def test_an_operator_pauses_a_remote_rollout_under_their_name(api: ApiFixture) -> None:
    env = {"EDGEWARD_CONTROL_URL": URL, "EDGEWARD_TOKEN": _token(api, Role.OPERATOR)}
    result = CliRunner().invoke(rollout_cli.app, ["pause", "1", "--reason", "look"], env=env)
    assert result.exit_code == 0, result.output
    status = CliRunner().invoke(rollout_cli.app, ["status"], env=env)
    assert json.loads(status.output)["status"] == "paused"
    entries = api.operations.plane.audit.search(action_prefix="rollout.paused", limit=5)
    assert [e.actor for e in entries] == ["operator"]


def test_an_auditor_is_refused_with_the_apis_sentence(api: ApiFixture) -> None:
    result = CliRunner().invoke(
        approvals_cli.app,
        ["approve", HIGH, "--comment", "fine", "--url", URL, "--token", _token(api, Role.AUDITOR)],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, remote.AccessDenied)
    assert "not allowed to approve or deny" in str(result.exception)


def test_approvals_list_show_and_deny_remotely(api: ApiFixture) -> None:
    args = ["--url", URL, "--token", _token(api, Role.OPERATOR)]
    listed = CliRunner().invoke(approvals_cli.app, ["list", *args, "--json"])
    assert {a["decision_id"] for a in json.loads(listed.output)} == {HIGH, "d-critical"}
    shown = CliRunner().invoke(approvals_cli.app, ["show", HIGH, *args, "--json"])
    assert json.loads(shown.output)["approval"]["risk"] == "high"
    denied = CliRunner().invoke(approvals_cli.app, ["deny", HIGH, "--comment", "no", *args])
    assert denied.exit_code == 0, denied.output
    assert "denied" in denied.output


def test_a_url_without_a_token_says_what_to_do(api: ApiFixture) -> None:
    result = CliRunner().invoke(fleet_cli.app, ["list", "--url", URL], env={"EDGEWARD_TOKEN": ""})
    assert "pass --token or set EDGEWARD_TOKEN" in str(result.exception)
