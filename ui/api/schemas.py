"""The API's request bodies and responses, as pydantic models (they make the OpenAPI document).

Responses are built from the service layer's `to_dict()` values; a model lists the fields the
API promises, and FastAPI drops anything else (a model's path on the registry host, say).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from control_plane.access import Role

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
RiskName = Literal["low", "medium", "high", "critical"]
StatusName = Literal["pending", "approved", "denied", "expired"]


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ReasonBody(Body):
    """Why: kept in the audit log."""

    reason: Reason


class SiteRevokeBody(Body):
    """Why a site is cut off (kept with its enrollment record)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PromoteBody(Body):
    """Start a rollout of a version."""

    reason: Reason
    force: bool = Field(default=False, description="Roll out even if the gate fails (admin).")


class VerdictBody(Body):
    """An approval's or denial's comment: sent to the site and kept in the audit log."""

    comment: Comment


class NewUserBody(Body):
    """An account to create."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    role: Role
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class NewTokenBody(Body):
    """An API token to issue."""

    user: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: Role | None = Field(default=None, description="Default: the user's role.")
    ttl_s: float | None = Field(
        default=None, gt=0, le=10 * 365 * 86400, description="Lifetime; default: no expiry."
    )


# -- responses -------------------------------------------------------------------------
class Whoami(BaseModel):
    """The caller."""

    name: str
    role: Role
    via: str
    permissions: list[str]


class Site(BaseModel):
    """A site: its last report and enrollment state."""

    site: str
    online: bool
    last_seen: float
    active_version: int | None
    previous_version: int | None
    agent_version: str | None
    enrollment: Literal["enrolled", "revoked", "unknown"]
    health: dict[str, float]
    quality: dict[str, float]


class FleetSummary(BaseModel):
    """The fleet's health in a few numbers."""

    sites: int
    online: int
    offline: int
    revoked: int
    on_champion: int
    ingest_rate: float
    quarantine_rate: float
    live_mae_mean: float | None


class RolloutBrief(BaseModel):
    """A rollout in a few fields."""

    id: int
    version: int
    baseline_version: int | None
    status: str
    current_wave: int
    waves: int
    sites_activated: int
    sites: int
    updated_at: float


class Overview(BaseModel):
    """The whole system at a glance."""

    generated_at: float
    fleet: FleetSummary
    champion: int | None
    aliases: dict[str, int]
    latest_version: int | None
    active_rollout: RolloutBrief | None
    pending_approvals: int
    decisions_by_risk: dict[str, int]
    quarantine_by_reason: dict[str, float]


class Model(BaseModel):
    """A registered model version and its aliases."""

    version: int
    name: str
    created_at: str
    registered_at: str
    schema_hash: str
    parent_version: int | None
    weights_sha256: str
    bundle_digest: str
    submission: str | None
    aliases: list[str]


class ModelDetail(Model):
    """A model version with its manifest (metrics per site, lineage)."""

    manifest: dict[str, Any]


class Promoted(BaseModel):
    """The rollout a promotion started and the gate's report."""

    rollout_id: int
    gate: dict[str, Any]


class Wave(BaseModel):
    """One wave of a rollout."""

    wave: int
    status: str
    started_at: float | None
    bake_until: float | None
    verdict: str


class RolloutSite(BaseModel):
    """One site's part in a rollout."""

    site: str
    wave: int
    status: str
    baseline_mae: float | None
    live_mae: float | None
    detail: str
    offered_at: float | None
    updated_at: float


class Rollout(BaseModel):
    """A rollout with its plan, waves and sites."""

    id: int
    version: int
    baseline_version: int | None
    status: str
    reason: str
    plan: dict[str, Any]
    gate_report: dict[str, Any] | None
    created_by: str
    created_at: float
    updated_at: float
    current_wave: int
    waves: list[Wave]
    sites: list[RolloutSite]


class Approval(BaseModel):
    """A held decision and what became of its request."""

    decision_id: str
    site: str
    risk: RiskName
    decision: dict[str, Any]
    screening: dict[str, Any]
    requested_at: float
    expires_at: float
    status: StatusName
    actor: str | None
    comment: str
    decided_at: float | None
    override: bool
    verdict_message_id: str | None
    verdict_attempts: int
    verdict_sent_at: float | None
    verdict_delivered_at: float | None
    verdict_detail: str


class DecisionTrail(BaseModel):
    """Everything known of one decision."""

    decision_id: str
    decision: dict[str, Any]
    screening: dict[str, Any]
    approval: Approval | None
    reports: list[dict[str, Any]]


class DecisionCounts(BaseModel):
    """Decisions by risk, reports by outcome, approvals by status."""

    decisions_by_risk: dict[str, int]
    reports_by_outcome: dict[str, int]
    approvals_by_status: dict[str, int]


class ScreenerAccuracy(BaseModel):
    """How often the screener's level matched people's verdicts."""

    judged: int
    agreed: int
    by_level: dict[str, dict[str, int]]
    accuracy: float | None


class SiteData(BaseModel):
    """What one site ingests and quarantines (its last report)."""

    site: str
    ingest_rate: float
    quarantine_rate: float
    quarantined: dict[str, float]


class DataSummary(BaseModel):
    """Ingest and quarantine across the fleet."""

    ingest_rate: float
    quarantine_rate: float
    quarantine_by_reason: dict[str, float]
    sites: list[SiteData]


class AuditEntry(BaseModel):
    """One recorded action of the hash-chained audit log."""

    id: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    """Whether the audit log's hash chain is whole."""

    whole: bool
    first_broken: int | None


class User(BaseModel):
    """An account (never its password hash)."""

    name: str
    role: Role
    created_at: float
    created_by: str
    disabled: bool
    failed_logins: int
    locked_until: float | None
    last_login_at: float | None


class Token(BaseModel):
    """An API token's record (never its secret)."""

    id: int
    user: str
    label: str
    role: Role
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None


class IssuedToken(BaseModel):
    """A new token and its secret, shown this once."""

    token: Token
    secret: str
