"""The payloads of decision messages: their shape, checked once, and the outcomes an agent reports.

`ApprovalRequest.payload` and `DecisionReport.payload` are free-form JSON on the wire; this
module is the one place that says what the control plane expects in them:

    {"decision": <Decision JSON>, "screening": {...}, "expires_at": <unix s>}   (request)
    {"decision": <Decision JSON>, "screening": {...}, "outcome": "...", "at": <unix s>}  (report)

The decision must be a valid `edgeward.risk.Decision`; the screening is kept as sent (the
agent's final level, each layer's level, reasons and rationale). Unknown keys are ignored, so
an agent may add some without a new wire version.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from control_plane.approvals.errors import MalformedPayload
from edgeward.risk import Decision

Outcome = Literal[
    "executed", "notified", "held", "approved", "denied", "expired", "blocked", "failed"
]
OUTCOMES: Final[dict[Outcome, str]] = {
    "executed": "the action ran",
    "notified": "the action ran and operators were notified",
    "held": "the action waits for a person's approval",
    "approved": "a person approved the action; it runs next",
    "denied": "a person denied the action",
    "expired": "no verdict came before the request expired",
    "blocked": "the action is critical and was blocked",
    "failed": "the action was attempted and failed",
}
"""What became of a decision, as agents report it, with what each outcome means."""

UnixTime = Annotated[float, Field(strict=True, ge=0)]
"""Seconds since the epoch, by the agent's clock (a number, not a string or a bool)."""


class _DecisionPayload(BaseModel):
    """What every decision payload carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    decision: Decision
    screening: dict[str, JsonValue]


class RequestPayload(_DecisionPayload):
    """The payload of an `ApprovalRequest`."""

    expires_at: UnixTime


class ReportPayload(_DecisionPayload):
    """The payload of a `DecisionReport`."""

    outcome: Outcome
    at: UnixTime


def parse_request(payload: dict[str, JsonValue], *, decision_id: str) -> RequestPayload:
    """Return the request payload checked, or raise `MalformedPayload` saying what is wrong."""
    return _parse(RequestPayload, payload, what=f"the approval request for {decision_id}")


def parse_report(payload: dict[str, JsonValue], *, decision_id: str) -> ReportPayload:
    """Return the report payload checked, or raise `MalformedPayload` saying what is wrong."""
    return _parse(ReportPayload, payload, what=f"the decision report for {decision_id}")


_P = TypeVar("_P", bound=_DecisionPayload)


def _parse(model: type[_P], payload: dict[str, JsonValue], *, what: str) -> _P:
    try:
        return model.model_validate(payload)
    except ValidationError as err:
        problem = err.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in ("payload", *problem["loc"]))
        raise MalformedPayload(f"{what} is malformed: {where}: {problem['msg']}") from err
