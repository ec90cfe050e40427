"""How a rollout proceeds: a canary, a bake period, then growing waves to the whole fleet."""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(kw_only=True, slots=True, frozen=True)
class RolloutPlan:
    """The stages of a rollout and the thresholds that end it early.

    `waves` are cumulative shares of the fleet after the canary (the last must be 1.0). After
    each wave activates, its sites bake for `bake_s`; then their live forecast error on the new
    model is compared with what each had on the old one: worse by more than
    `regression_threshold` (relative), or any activation failure, rolls every touched site back.
    """

    canary_fraction: float = 0.1
    waves: tuple[float, ...] = (0.5, 1.0)
    bake_s: float = 300.0
    regression_threshold: float = 0.10
    activation_timeout_s: float = 180.0
    min_samples: int = 10
    max_bake_extension_s: float = 300.0
    offer_resend_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.canary_fraction <= 1:
            raise ValueError("canary_fraction must be above 0 and at most 1")
        if not self.waves or self.waves[-1] != 1.0 or list(self.waves) != sorted(self.waves):
            raise ValueError("waves must be growing shares ending at 1.0")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (stored with the rollout)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutPlan:
        """Read a plan back."""
        values = dict(data)
        values["waves"] = tuple(values.get("waves", (0.5, 1.0)))
        return cls(**values)


def assign_waves(sites: list[str], plan: RolloutPlan) -> list[list[str]]:
    """Split sites into the canary and the following waves (each at least one site).

    The order is a stable hash of the site names, so the canary is spread across the fleet
    rather than always the alphabetically first sites, and the same fleet gets the same waves.
    """
    ordered = sorted(sites, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    count = len(ordered)
    bounds = [max(1, math.ceil(plan.canary_fraction * count))]
    for share in plan.waves:
        bound = max(bounds[-1], math.ceil(share * count))
        if bound > bounds[-1]:
            bounds.append(bound)
    waves, start = [], 0
    for end in bounds:
        if end > start:
            waves.append(ordered[start:end])
            start = end
    return waves
