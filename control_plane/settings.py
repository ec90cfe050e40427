"""The control plane's settings: where its state, registry and PKI are, and how it decides.

Keys live in the `[control]` table of a TOML file; each can be overridden by
`EDGEWARD_CONTROL__<KEY>` (nesting with `__`) or a flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from control_plane.promotion import GateConfig
from control_plane.rollout import RolloutPlan
from edgeward.settings import load_settings

ROLE = "control"
# The defaults live with the values they configure, so there is one place to change them.
_GATE = GateConfig()
_PLAN = RolloutPlan()


class GateSettings(BaseModel):
    """Thresholds of the promotion gate (see control_plane.promotion.gate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_sites: int = Field(default=_GATE.min_sites, ge=1)
    min_improvement: float = _GATE.min_improvement
    min_win_share: float = Field(default=_GATE.min_win_share, ge=0, le=1)
    significance: float = Field(default=_GATE.significance, gt=0, le=1)
    max_site_regression: float = Field(default=_GATE.max_site_regression, ge=0)
    max_quarantine_rate: float = Field(default=_GATE.max_quarantine_rate, ge=0, le=1)
    mode: Literal["auto", "manual"] = _GATE.mode

    def config(self) -> GateConfig:
        """Return the gate's configuration value."""
        return GateConfig(**self.model_dump())


class RolloutSettings(BaseModel):
    """The default rollout plan (see control_plane.rollout.plan)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    canary_fraction: float = Field(default=_PLAN.canary_fraction, gt=0, le=1)
    waves: tuple[float, ...] = _PLAN.waves
    bake_s: float = Field(default=_PLAN.bake_s, ge=0)
    regression_threshold: float = Field(default=_PLAN.regression_threshold, ge=0)
    activation_timeout_s: float = Field(default=_PLAN.activation_timeout_s, gt=0)
    min_samples: int = Field(default=_PLAN.min_samples, ge=0)
    max_bake_extension_s: float = Field(default=_PLAN.max_bake_extension_s, ge=0)
    offer_resend_s: float = Field(default=_PLAN.offer_resend_s, gt=0)

    def plan(self) -> RolloutPlan:
        """Return the plan value."""
        return RolloutPlan(**self.model_dump())


class PipelineRiskSettings(BaseModel):
    """How the control plane screens its own promotions (see control_plane.pipeline_risk)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    screen_promotions: bool = True
    # Promotions and rollbacks in this window count as "recent" (three or more: flapping).
    recent_window_s: float = Field(default=24 * 3600.0, gt=0)
    # How long a held promotion waits for a person before it expires (and does not run).
    hold_s: float = Field(default=24 * 3600.0, gt=0)


class DashboardSettings(BaseModel):
    """The dashboard and HTTP API, and how people log in to them (see control_plane.users)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # A login page or session cookie is refused after this many failures in a row ...
    max_failed_logins: int = Field(default=5, ge=1)
    # ... for this long (an admin can unlock the account sooner).
    lockout_s: float = Field(default=15 * 60.0, gt=0)
    # A session ends this long after login, used or not.
    session_ttl_s: float = Field(default=8 * 3600.0, gt=0)
    # How often pages poll the state for live updates.
    refresh_s: float = Field(default=2.0, gt=0)


class ControlSettings(BaseModel):
    """Everything `edgeward control-plane serve` needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: Path
    registry_dir: Path
    pki_dir: Path
    bind: str = "tcp://127.0.0.1:7700"
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    chunk_size: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024)
    import_interval_s: float = Field(default=5.0, gt=0)
    tick_interval_s: float = Field(default=1.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    gate: GateSettings = GateSettings()
    rollout: RolloutSettings = RolloutSettings()
    risk: PipelineRiskSettings = PipelineRiskSettings()
    dashboard: DashboardSettings = DashboardSettings()


def load_control_settings(
    config_file: Path | None = None, flags: dict[str, object] | None = None
) -> ControlSettings:
    """Load and validate the control plane's settings (raises `SettingsError` with one line)."""
    return load_settings(ControlSettings, role=ROLE, config_file=config_file, flags=flags)
