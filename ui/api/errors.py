"""One table from exception classes to HTTP statuses, and the handlers that apply it.

Every error response has the body `{"error": "<sentence>"}`. The sentence is the exception's
own message (the package's errors are written to be shown), except where the table gives a
public one instead because the message names internals (a registry path). Anything the table
does not know is logged with its traceback and answered with a 500 that says nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.access import AccessDenied, NotAuthenticated
from control_plane.approvals import ApprovalClosed, ApprovalNotFound, OverrideRequired
from control_plane.errors import VersionNotFound
from control_plane.rollout import RolloutError
from control_plane.users import UserError
from edgeward.bundles import BundleNotFound
from edgeward.errors import EdgewardError

log = logging.getLogger(__name__)

INTERNAL_ERROR: Final = "internal error; see the control plane's log"
BEARER_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="edgeward"'}


class ErrorBody(BaseModel):
    """What every failed request answers."""

    error: str


class NotFound(EdgewardError):
    """The API's own 'no such thing' (where the service layer names it some other way)."""


class Conflict(EdgewardError):
    """The thing exists but is not in a state that allows the request."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ErrorRule:
    """How one exception class is answered."""

    error: type[Exception]
    status: int
    public: str | None = None
    """A sentence shown instead of the exception's message (which names internals)."""


ERROR_TABLE: Final[tuple[ErrorRule, ...]] = (
    ErrorRule(error=NotAuthenticated, status=401),
    ErrorRule(error=AccessDenied, status=403),
    ErrorRule(error=NotFound, status=404),
    ErrorRule(error=VersionNotFound, status=404, public="There is no such model version."),
    ErrorRule(error=ApprovalNotFound, status=404),
    ErrorRule(error=BundleNotFound, status=404, public="The model's bundle is missing."),
    ErrorRule(error=Conflict, status=409),
    ErrorRule(error=RolloutError, status=409),
    ErrorRule(error=ApprovalClosed, status=409),
    ErrorRule(error=OverrideRequired, status=403),
    ErrorRule(error=UserError, status=422),
    ErrorRule(error=EdgewardError, status=400),
)
"""First match wins: subclasses come before their bases (`WeakPassword` is a `UserError`)."""

DOCUMENTED_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request cannot be carried out (the sentence says why)."),
        (401, "No valid bearer token."),
        (403, "The token's role does not allow this."),
        (404, "No such thing."),
        (409, "The thing is not in a state that allows this."),
        (422, "The request is not valid."),
        (500, "Internal error; the control plane's log has the details."),
    )
}
"""The error responses every endpoint documents in the OpenAPI document."""


def rule_for(error: Exception) -> ErrorRule | None:
    """Return the table's rule for `error`, or None if it is not an expected failure."""
    return next((rule for rule in ERROR_TABLE if isinstance(error, rule.error)), None)


def error_response(
    status: int, sentence: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Return the JSON error body with `status` (a 401 carries the bearer challenge)."""
    merged = {**(headers or {}), **(BEARER_CHALLENGE if status == 401 else {})}
    return JSONResponse({"error": sentence}, status_code=status, headers=merged or None)


def _expected(_request: Request, error: Exception) -> JSONResponse:
    rule = rule_for(error)
    if rule is None:  # pragma: no cover - registered only for EdgewardError
        return error_response(500, INTERNAL_ERROR)
    return error_response(rule.status, rule.public or str(error))


def _invalid(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101 (registered for it)
    problems = "; ".join(_problem(item) for item in error.errors()[:5])
    return error_response(422, f"The request is not valid: {problems}.")


def _problem(item: Any) -> str:
    where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
    message = str(item.get("msg", "invalid")).rstrip(".")
    return f"{where}: {message}" if where else message


def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)  # noqa: S101 (registered for it)
    sentences = {404: "There is no such endpoint.", 405: "This endpoint does not take that method."}
    sentence = sentences.get(error.status_code, f"The request failed ({error.status_code}).")
    if error.status_code == 401:
        sentence = str(error.detail)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(error.status_code, sentence, headers)


def _allowed_methods(request: Request) -> list[str]:
    """Return every method some route takes at the request's path (RFC 9110's `Allow`).

    Starlette's own 405 names only the first route that matches the path.
    """
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE and isinstance(route, Route) and route.methods:
            methods |= route.methods
    return sorted(methods)


def install_error_handlers(api: FastAPI) -> None:
    """Answer every failure of `api` with the table's status and a sentence."""
    api.add_exception_handler(EdgewardError, _expected)
    api.add_exception_handler(RequestValidationError, _invalid)
    api.add_exception_handler(HTTPException, _http)
    api.add_middleware(InternalErrorGuard)


class InternalErrorGuard:
    """Turn an exception nothing handled into a logged 500 that reveals nothing.

    Starlette's own last-resort handler answers and then re-raises; this answers and stops,
    so an unexpected failure is one log record and one plain response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer a 500 if it raises before it started its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("the API failed on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await error_response(500, INTERNAL_ERROR)(scope, receive, send)
