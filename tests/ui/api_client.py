"""The HTTP API over a seeded control plane, with a token per role (for the API's tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from control_plane.access import Role
from control_plane.operations import Operations
from tests.ui.state import ACCOUNTS, build_operations
from ui.api import create_api


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiFixture:
    """A test client on the API, the operations under it, and a bearer header per role."""

    client: TestClient
    operations: Operations
    headers: dict[Role, dict[str, str]]


def bearer(secret: str) -> dict[str, str]:
    """Return the `Authorization` header for a token secret."""
    return {"Authorization": f"Bearer {secret}"}


def api_over(root: Path) -> ApiFixture:
    """Return the API over a fresh seeded control plane under `root`."""
    operations = build_operations(root)
    headers = {}
    for role, name in ACCOUNTS.items():
        _, secret = operations.auth.issue_token(
            name, label="tests", role=None, ttl_s=None, actor="test"
        )
        headers[role] = bearer(secret)
    client = TestClient(create_api(operations), raise_server_exceptions=True)
    return ApiFixture(client=client, operations=operations, headers=headers)
