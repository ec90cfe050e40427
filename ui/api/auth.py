"""Who is calling: the bearer token in `Authorization`, checked against the accounts' tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from control_plane.access import NotAuthenticated, Principal
from control_plane.operations import Operations

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (`ew_...`) issued by an admin: `Authorization: Bearer ew_...`.",
)


def operations_of(request: Request) -> Operations:
    """Return the operations the API was created over."""
    operations: Operations = request.app.state.operations
    return operations


def principal_of(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    operations: Annotated[Operations, Depends(operations_of)],
) -> Principal:
    """Return who the request's bearer token speaks for; raise `NotAuthenticated` if nobody."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Send an API token: 'Authorization: Bearer ew_...'.")
    return operations.auth.bearer(credentials.credentials)


Ops = Annotated[Operations, Depends(operations_of)]
"""The service layer, for an endpoint's parameters."""
Caller = Annotated[Principal, Depends(principal_of)]
"""The authenticated caller, for an endpoint's parameters."""
