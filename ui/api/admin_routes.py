"""Endpoints for the audit log, accounts and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from control_plane.users import UserError
from ui.api import schemas
from ui.api.auth import Caller, Ops
from ui.api.errors import NotFound
from ui.api.params import TokenPath, UserPath

router = APIRouter()
Filter = Annotated[str | None, Query(max_length=200)]


@router.get("/audit", response_model=list[schemas.AuditEntry], tags=["audit"])
def audit(
    ops: Ops,
    who: Caller,
    actor: Filter = None,
    action: Annotated[str | None, Query(max_length=200, description="A prefix.")] = None,
    subject: Filter = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Return the newest audit entries matching the filters, newest first."""
    found = ops.audit(who, actor=actor, action=action, subject=subject, limit=limit)
    return [entry.to_dict() for entry in found]


@router.post("/audit/verify", response_model=schemas.AuditVerification, tags=["audit"])
def verify_audit(ops: Ops, who: Caller) -> dict[str, Any]:
    """Check the audit log's hash chain from its first entry."""
    whole, first_broken = ops.verify_audit(who)
    return {"whole": whole, "first_broken": first_broken}


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON lines."}},
    tags=["audit"],
)
def export_audit(ops: Ops, who: Caller) -> StreamingResponse:
    """Stream the whole audit log as JSON lines, oldest first (the export is audited)."""
    return StreamingResponse(
        ops.export_audit(who),  # refuses (403) before anything is sent
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="edgeward-audit.jsonl"'},
    )


@router.get("/users", response_model=list[schemas.User], tags=["users"])
def users(ops: Ops, who: Caller) -> list[dict[str, Any]]:
    """Return every account."""
    return [user.to_dict() for user in ops.users(who)]


@router.post("/users", response_model=schemas.User, status_code=201, tags=["users"])
def add_user(body: schemas.NewUserBody, ops: Ops, who: Caller) -> dict[str, Any]:
    """Create an account."""
    return ops.add_user(who, body.name, body.role, body.password).to_dict()


def _account(ops: Ops, name: str, error: UserError) -> Exception:
    """Return a 404 when the account does not exist, else `error` itself."""
    return (
        NotFound(f"There is no account named {name}.") if ops.accounts.find(name) is None else error
    )


@router.post("/users/{name}/disable", response_model=schemas.User, tags=["users"])
def disable_user(name: UserPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Disable an account: no login; its sessions and tokens stop working."""
    try:
        return ops.set_disabled(who, name, disabled=True).to_dict()
    except UserError as err:
        raise _account(ops, name, err) from err


@router.post("/users/{name}/enable", response_model=schemas.User, tags=["users"])
def enable_user(name: UserPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Re-enable a disabled account."""
    try:
        return ops.set_disabled(who, name, disabled=False).to_dict()
    except UserError as err:
        raise _account(ops, name, err) from err


@router.post("/users/{name}/unlock", response_model=schemas.User, tags=["users"])
def unlock_user(name: UserPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Clear an account's lock after failed logins."""
    try:
        return ops.unlock(who, name).to_dict()
    except UserError as err:
        raise _account(ops, name, err) from err


@router.get("/tokens", response_model=list[schemas.Token], tags=["users"])
def tokens(ops: Ops, who: Caller) -> list[dict[str, Any]]:
    """Return every API token, newest first (never their secrets)."""
    return [token.to_dict() for token in ops.tokens(who)]


@router.post("/tokens", response_model=schemas.IssuedToken, status_code=201, tags=["users"])
def issue_token(body: schemas.NewTokenBody, ops: Ops, who: Caller) -> dict[str, Any]:
    """Issue an API token; its secret is in this response and nowhere else."""
    try:
        token, secret = ops.issue_token(
            who, body.user, label=body.label, role=body.role, ttl_s=body.ttl_s
        )
    except UserError as err:
        raise _account(ops, body.user, err) from err
    return {"token": token.to_dict(), "secret": secret}


@router.post("/tokens/{token_id}/revoke", response_model=schemas.Token, tags=["users"])
def revoke_token(token_id: TokenPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Stop an API token from working, at once."""
    try:
        return ops.revoke_token(who, token_id).to_dict()
    except UserError as err:
        raise NotFound(f"There is no API token {token_id}.") from err
