"""Staged rollout: canary, bake, waves, automatic rollback on live regression."""

from control_plane.rollout.engine import Courier, RolloutEngine, RolloutError
from control_plane.rollout.plan import RolloutPlan, assign_waves
from control_plane.rollout.store import (
    ACTIVE_STATUSES,
    Rollout,
    RolloutStore,
    SiteProgress,
    WaveProgress,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Courier",
    "Rollout",
    "RolloutEngine",
    "RolloutError",
    "RolloutPlan",
    "RolloutStore",
    "SiteProgress",
    "WaveProgress",
    "assign_waves",
]
