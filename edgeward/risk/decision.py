"""What a decision is: an action from the catalogue, its parameters, evidence and context.

A decision is what the active model proposes to do to the network (or, for the control plane,
what the pipeline proposes to do to the fleet). It is a frozen pydantic model so that the same
definition validates the agent's own decisions, the batch CLI's JSON lines and wire payloads.

The JSON form (one object per line for `edgeward risk assess`; see docs/risk.md):

    {"id": "d-0001", "site": "site-3", "action": "sleep_cell", "target": "cell-12",
     "parameters": {"duration_min": 30}, "model_version": 4, "confidence": 0.83,
     "evidence": {"prb_util_dl": 0.04, "users_active": 3},
     "context": {"hour": 2, "peak_hour": false, "users_affected": 3, "reversible": true,
                 "protected_target": false, "recent_similar": 0},
     "summary": "Sleep cell-12 for 30 min: downlink load 4%, 3 users"}

Only `action`, `summary` and `context` are required; the rest has neutral defaults.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgeward.errors import EdgewardError

RiskLevel = Literal["low", "medium", "high", "critical"]
RISK_LEVELS: Final[tuple[RiskLevel, ...]] = ("low", "medium", "high", "critical")
PIPELINE_SITE: Final = "control-plane"
"""The site name of the pipeline's own decisions (`certs` enrolls no device under it)."""
"""Risk levels from mildest to strictest; "the strictest wins" compares positions here."""


class DecisionError(EdgewardError):
    """A decision could not be read; the message says which field is wrong and why."""


class Action(StrEnum):
    """The catalogue of actions a decision can propose."""

    RAISE_ALARM = "raise_alarm"
    OFFLOAD_TRAFFIC = "offload_traffic"
    RATE_LIMIT_SOURCE = "rate_limit_source"
    SLEEP_CELL = "sleep_cell"
    BLOCK_SOURCE = "block_source"
    RESTART_NODE = "restart_node"
    # The pipeline's own decisions, screened by the control plane.
    PROMOTE_MODEL = "promote_model"
    ROLLBACK_MODEL = "rollback_model"


REVERSIBLE_BY_DEFAULT: Final[dict[Action, bool]] = {
    Action.RAISE_ALARM: True,
    Action.OFFLOAD_TRAFFIC: True,
    Action.RATE_LIMIT_SOURCE: True,
    Action.SLEEP_CELL: True,
    Action.BLOCK_SOURCE: True,
    Action.RESTART_NODE: False,  # dropped sessions cannot be given back
    Action.PROMOTE_MODEL: True,
    Action.ROLLBACK_MODEL: True,
}
"""Whether an action can be undone when its context does not say."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class DecisionContext(BaseModel):
    """The circumstances a decision is taken in; rules and the LLM judge it by these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hour: int | None = Field(default=None, ge=0, le=23)
    peak_hour: bool = False
    users_affected: int = Field(default=0, ge=0)
    reversible: bool | None = None
    protected_target: bool = False
    recent_similar: int = Field(default=0, ge=0)
    sites_evaluated: int | None = Field(default=None, ge=0)
    quarantine_rate: Fraction | None = None


class Decision(BaseModel):
    """One proposed action, with everything needed to judge and to trace it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[0-9A-Za-z_.:-]{1,64}$")
    site: str = ""
    action: Action
    target: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    model_version: int | None = None
    confidence: Fraction = 1.0
    evidence: dict[str, float] = Field(default_factory=dict)
    context: DecisionContext
    summary: str = Field(min_length=1, max_length=500)
    created_at: float | None = None

    @property
    def reversible(self) -> bool:
        """Whether the action can be undone (the context wins over the catalogue's default)."""
        if self.context.reversible is not None:
            return self.context.reversible
        return REVERSIBLE_BY_DEFAULT[self.action]

    def signature(self) -> str:
        """Return what makes two decisions "the same" for the verdict cache.

        Identity (id, time, exact evidence values) is left out; what a judge looks at is in.
        """
        ctx = self.context
        return json.dumps(
            [
                self.action.value,
                self.target,
                sorted(self.parameters.items()),
                round(self.confidence, 2),
                ctx.peak_hour,
                _bucket(ctx.users_affected),
                self.reversible,
                ctx.protected_target,
                min(ctx.recent_similar, 5),
                ctx.sites_evaluated,
                None if ctx.quarantine_rate is None else round(ctx.quarantine_rate, 2),
            ],
            default=str,
        )


def _bucket(users: int) -> int:
    """Return a coarse size class for a user count (0, 1-9, 10-99, ...)."""
    return len(str(users)) if users else 0


def parse_decision(data: Any) -> Decision:
    """Return the decision in `data` (a dict or a JSON string); raise `DecisionError`."""
    try:
        if isinstance(data, str | bytes):
            return Decision.model_validate_json(data)
        return Decision.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "decision"
        raise DecisionError(f"{where}: {first['msg']}") from err


def max_level(*levels: RiskLevel) -> RiskLevel:
    """Return the strictest of `levels`."""
    return max(levels, key=RISK_LEVELS.index)


def raise_level(level: RiskLevel, steps: int = 1) -> RiskLevel:
    """Return `level` made `steps` stricter (critical stays critical)."""
    return RISK_LEVELS[min(RISK_LEVELS.index(level) + steps, len(RISK_LEVELS) - 1)]
