"""The HTTP API: every endpoint for every role, as the permission table says; errors as sentences.

The matrix is a table of actions (method, path, body, the permission each needs, and what the
state must be first); every role either gets a 2xx or a 403 whose body is a sentence naming
what it may not do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from control_plane.access import Permission, Role, allowed
from control_plane.operations import Operations
from tests.ui.api_client import ApiFixture, api_over, bearer
from tests.ui.state import CRITICAL, HIGH, PASSWORD


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """One API call, the permission it needs, and the state it needs first."""

    name: str
    method: str
    path: str
    permission: Permission
    body: dict[str, Any] | None = None
    prepare: Callable[[Operations], None] = field(default=lambda ops: None)

    @property
    def changes(self) -> bool:
        """Return whether the call changes state (and so needs a fresh control plane)."""
        return self.method != "GET"


def _no_rollout(ops: Operations) -> None:
    ops.plane.engine.abort(1, actor="test", reason="make way")


def _paused(ops: Operations) -> None:
    ops.plane.engine.pause(1, actor="test", reason="hold")


def _disabled_account(ops: Operations) -> None:
    ops.accounts.add("retired", Role.AUDITOR, PASSWORD, actor="test")
    ops.accounts.set_disabled("retired", True, actor="test")


REASON = {"reason": "a test says so"}
COMMENT = {"comment": "checked the evidence"}
ACTIONS: tuple[Action, ...] = (
    Action(name="whoami", method="GET", path="/whoami", permission=Permission.VIEW),
    Action(name="overview", method="GET", path="/overview", permission=Permission.VIEW),
    Action(name="sites", method="GET", path="/sites", permission=Permission.VIEW),
    Action(name="models", method="GET", path="/models", permission=Permission.VIEW),
    Action(name="model", method="GET", path="/models/2", permission=Permission.VIEW),
    Action(name="rollouts", method="GET", path="/rollouts", permission=Permission.VIEW),
    Action(name="rollout", method="GET", path="/rollouts/1", permission=Permission.VIEW),
    Action(name="approvals", method="GET", path="/approvals", permission=Permission.VIEW),
    Action(
        name="pending",
        method="GET",
        path="/approvals?status=pending&limit=5",
        permission=Permission.VIEW,
    ),
    Action(name="approval", method="GET", path=f"/approvals/{HIGH}", permission=Permission.VIEW),
    Action(name="accuracy", method="GET", path="/risk/accuracy", permission=Permission.VIEW),
    Action(name="counts", method="GET", path="/decisions/counts", permission=Permission.VIEW),
    Action(name="data", method="GET", path="/data", permission=Permission.VIEW),
    Action(name="audit", method="GET", path="/audit?action=rollout", permission=Permission.VIEW),
    Action(name="export", method="GET", path="/audit/export", permission=Permission.EXPORT_AUDIT),
    Action(name="verify", method="POST", path="/audit/verify", permission=Permission.VERIFY_AUDIT),
    Action(
        name="promote",
        method="POST",
        path="/models/2/promote",
        permission=Permission.PROMOTE,
        body=REASON,
        prepare=_no_rollout,
    ),
    Action(
        name="promote-forced",
        method="POST",
        path="/models/2/promote",
        permission=Permission.OVERRIDE_CRITICAL,
        body={**REASON, "force": True},
        prepare=_no_rollout,
    ),
    Action(
        name="pause",
        method="POST",
        path="/rollouts/1/pause",
        permission=Permission.CONTROL_ROLLOUT,
        body=REASON,
    ),
    Action(
        name="resume",
        method="POST",
        path="/rollouts/1/resume",
        permission=Permission.CONTROL_ROLLOUT,
        body=REASON,
        prepare=_paused,
    ),
    Action(
        name="abort",
        method="POST",
        path="/rollouts/1/abort",
        permission=Permission.CONTROL_ROLLOUT,
        body=REASON,
    ),
    Action(
        name="rollback",
        method="POST",
        path="/rollouts/1/rollback",
        permission=Permission.ROLL_BACK,
        body=REASON,
    ),
    Action(
        name="approve",
        method="POST",
        path=f"/approvals/{HIGH}/approve",
        permission=Permission.DECIDE_APPROVAL,
        body=COMMENT,
    ),
    Action(
        name="approve-critical",
        method="POST",
        path=f"/approvals/{CRITICAL}/approve",
        permission=Permission.OVERRIDE_CRITICAL,
        body=COMMENT,
    ),
    Action(
        name="deny",
        method="POST",
        path=f"/approvals/{CRITICAL}/deny",
        permission=Permission.DECIDE_APPROVAL,
        body=COMMENT,
    ),
    Action(
        name="revoke-site",
        method="POST",
        path="/sites/site-b/revoke",
        permission=Permission.REVOKE_SITE,
        body=REASON,
    ),
    Action(name="users", method="GET", path="/users", permission=Permission.MANAGE_USERS),
    Action(
        name="add-user",
        method="POST",
        path="/users",
        permission=Permission.MANAGE_USERS,
        body={"name": "newcomer", "role": "auditor", "password": PASSWORD},
    ),
    Action(
        name="disable",
        method="POST",
        path="/users/auditor/disable",
        permission=Permission.MANAGE_USERS,
    ),
    Action(
        name="enable",
        method="POST",
        path="/users/retired/enable",
        permission=Permission.MANAGE_USERS,
        prepare=_disabled_account,
    ),
    Action(
        name="unlock",
        method="POST",
        path="/users/auditor/unlock",
        permission=Permission.MANAGE_USERS,
    ),
    Action(name="tokens", method="GET", path="/tokens", permission=Permission.MANAGE_USERS),
    Action(
        name="issue-token",
        method="POST",
        path="/tokens",
        permission=Permission.MANAGE_USERS,
        body={"user": "auditor", "label": "grafana", "ttl_s": 3600},
    ),
    Action(
        name="revoke-token",
        method="POST",
        path="/tokens/1/revoke",
        permission=Permission.MANAGE_USERS,
    ),
)
MATRIX = [
    pytest.param(role, action, id=f"{role}-{action.name}") for role in Role for action in ACTIONS
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> ApiFixture:
    """Return one API for the calls that change nothing."""
    return api_over(tmp_path_factory.mktemp("api"))


@pytest.fixture
def fresh(tmp_path: Path) -> ApiFixture:
    """Return an API over a control plane of this test's own."""
    return api_over(tmp_path)


def _call(api: ApiFixture, action: Action, headers: dict[str, str]) -> Any:
    return api.client.request(action.method, action.path, json=action.body, headers=headers)


@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_each_role_may_do_what_the_table_says(
    role: Role, action: Action, request: pytest.FixtureRequest
) -> None:
    api: ApiFixture = request.getfixturevalue("fresh" if action.changes else "shared")
    action.prepare(api.operations)
    response = _call(api, action, api.headers[role])
    if allowed(role, action.permission):
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"].startswith(f"{role.value} ({role.value}) is not allowed")
        assert response.json()["error"].endswith(".")


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_endpoint_refuses_a_request_without_a_token(
    action: Action, shared: ApiFixture
) -> None:
    response = _call(shared, action, {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"error": "Send an API token: 'Authorization: Bearer ew_...'."}


def test_a_revoked_token_stops_working_at_once(fresh: ApiFixture) -> None:
    _, secret = fresh.operations.auth.issue_token(
        "operator", label="soon revoked", role=None, ttl_s=None, actor="test"
    )
    assert fresh.client.get("/whoami", headers=bearer(secret)).status_code == 200
    tokens = fresh.client.get("/tokens", headers=fresh.headers[Role.ADMIN]).json()
    token_id = next(t["id"] for t in tokens if t["label"] == "soon revoked")
    revoked = fresh.client.post(f"/tokens/{token_id}/revoke", headers=fresh.headers[Role.ADMIN])
    assert revoked.json()["revoked_at"] is not None
    response = fresh.client.get("/whoami", headers=bearer(secret))
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]


def test_an_unknown_token_is_refused(shared: ApiFixture) -> None:
    response = shared.client.get("/overview", headers=bearer("ew_not-a-token"))
    assert response.status_code == 401
    assert response.json() == {"error": "The API token is not valid (unknown, expired or revoked)."}


def test_a_token_can_carry_less_than_its_owner(fresh: ApiFixture) -> None:
    issued = fresh.client.post(
        "/tokens",
        headers=fresh.headers[Role.ADMIN],
        json={"user": "admin", "label": "read only", "role": "auditor"},
    )
    assert issued.status_code == 201
    reader = bearer(issued.json()["secret"])
    assert fresh.client.get("/whoami", headers=reader).json()["role"] == "auditor"
    assert fresh.client.post("/rollouts/1/pause", json=REASON, headers=reader).status_code == 403


@pytest.mark.parametrize(
    ("path", "status", "sentence"),
    [
        ("/models/99", 404, "There is no such model version."),
        ("/rollouts/99", 404, "There is no rollout 99."),
        ("/approvals/nothing-here", 404, "no agent has asked about or reported decision"),
        ("/nowhere", 404, "There is no such endpoint."),
        ("/rollouts?limit=0", 422, "The request is not valid: query.limit"),
        ("/approvals?status=sideways", 422, "The request is not valid: query.status"),
    ],
)
def test_errors_are_sentences_with_their_status(
    shared: ApiFixture, path: str, status: int, sentence: str
) -> None:
    response = shared.client.get(path, headers=shared.headers[Role.AUDITOR])
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert sentence in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "sentence"),
    [
        ("POST", "/rollouts/1/resume", REASON, 409, "rollout 1 is running"),
        ("POST", "/models/2/promote", REASON, 409, "another rollout is in progress"),
        ("POST", "/rollouts/1/pause", {"reason": ""}, 422, "reason"),
        ("POST", "/rollouts/1/pause", {"reason": "x", "extra": 1}, 422, "extra"),
        ("POST", "/sites/nowhere/revoke", REASON, 404, "There is no site nowhere."),
        ("POST", "/users/nobody/unlock", None, 404, "There is no account named nobody."),
        ("POST", "/tokens/999/revoke", None, 404, "There is no API token 999."),
        (
            "POST",
            "/users",
            {"name": "weak", "role": "auditor", "password": "short"},
            422,
            "at least 12 characters",
        ),
        ("POST", "/users/admin/disable", None, 422, "cannot disable your own account"),
    ],
)
def test_refused_changes_say_why(
    fresh: ApiFixture, method: str, path: str, body: Any, status: int, sentence: str
) -> None:
    response = fresh.client.request(method, path, json=body, headers=fresh.headers[Role.ADMIN])
    assert response.status_code == status, response.text
    assert sentence in response.json()["error"]


def test_a_closed_approval_is_a_conflict(fresh: ApiFixture) -> None:
    admin = fresh.headers[Role.ADMIN]
    assert fresh.client.post(f"/approvals/{HIGH}/deny", json=COMMENT, headers=admin).is_success
    again = fresh.client.post(f"/approvals/{HIGH}/approve", json=COMMENT, headers=admin)
    assert again.status_code == 409


def test_an_unexpected_failure_says_nothing_internal(
    fresh: ApiFixture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals at /var/lib/edgeward")

    monkeypatch.setattr(fresh.operations, "overview", broken)
    response = fresh.client.get("/overview", headers=fresh.headers[Role.ADMIN])
    assert response.status_code == 500
    assert response.json() == {"error": "internal error; see the control plane's log"}
    assert "secret internals" in caplog.text


def test_the_audit_export_streams_json_lines_and_is_audited(fresh: ApiFixture) -> None:
    response = fresh.client.get("/audit/export", headers=fresh.headers[Role.AUDITOR])
    assert response.headers["content-type"].startswith("application/x-ndjson")
    entries = [json.loads(line) for line in response.text.splitlines()]
    assert entries[0]["id"] == 1
    assert [e["action"] for e in entries].count("rollout.start") == 1
    audited = fresh.client.get("/audit?action=audit.export", headers=fresh.headers[Role.AUDITOR])
    assert [e["actor"] for e in audited.json()] == ["auditor"]


def test_changes_are_audited_under_the_tokens_owner(fresh: ApiFixture) -> None:
    fresh.client.post("/rollouts/1/pause", json=REASON, headers=fresh.headers[Role.OPERATOR])
    found = fresh.client.get("/audit?action=rollout.paused", headers=fresh.headers[Role.ADMIN])
    assert [(e["actor"], e["detail"]["reason"]) for e in found.json()] == [
        ("operator", "a test says so")
    ]
    assert (
        fresh.client.get("/rollouts/1", headers=fresh.headers[Role.ADMIN]).json()["status"]
        == "paused"
    )


def test_a_model_answer_leaves_out_the_registry_path(shared: ApiFixture) -> None:
    model = shared.client.get("/models/1", headers=shared.headers[Role.AUDITOR]).json()
    assert "path" not in model
    assert model["aliases"] == ["champion"]
    assert "per_site" in model["manifest"]["metrics"]


def test_the_openapi_document_describes_auth_and_errors(shared: ApiFixture) -> None:
    document = shared.client.get("/openapi.json").json()
    assert document["info"]["title"] == "Edgeward API"
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    pause = document["paths"]["/rollouts/{rollout_id}/pause"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(pause["responses"])
    assert shared.client.get("/docs").status_code == 200


def test_the_matrix_covers_every_endpoint(shared: ApiFixture) -> None:
    document = shared.client.get("/openapi.json").json()
    called = {(a.method, a.path.split("?")[0]) for a in ACTIONS}
    for path, item in document["paths"].items():
        pattern = re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for method in item:
            assert any(m == method.upper() and pattern.match(p) for m, p in called), (
                f"{method.upper()} {path} is not in the matrix"
            )
