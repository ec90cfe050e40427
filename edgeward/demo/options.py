"""What the demo runs and the timings of its story, declared once with their defaults.

The story's pace is settings, not constants: the headless test runs the same story with
shorter bakes and a quicker operator than a person watching the dashboard would want.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(kw_only=True, slots=True, frozen=True)
class StoryTimings:
    """How fast the story plays out (seconds unless said)."""

    history_days: float = 0.25
    """Simulated history each site starts with, so the first challenger has data to learn."""
    aggregator_interval_s: float = 60.0
    """A challenger run starts at most this often (per challenger)."""
    rounds: int = 1
    """Federated rounds per challenger run."""
    round_timeout_s: float = 120.0
    bake_s: float = 3.0
    """Live evidence gathered after each wave activates."""
    min_samples: int = 3
    heartbeat_s: float = 1.0
    degrade_after_promotion_s: float = 5.0
    """Once a champion exists, inject the degraded challenger after this long."""
    degrade_bias: float = 50.0
    """Added to the champion's output bias to make the degraded challenger."""
    overheat_every_s: float = 8.0
    """A node somewhere overheats this often once models run (its restart screens high)."""
    decision_cooldown_s: float = 20.0
    approval_timeout_s: float = 45.0
    operator_every_s: float = 2.0
    """The scripted operator looks at the approval desk this often."""
    leave_every: int = 5
    """The scripted operator leaves every n-th agent request unanswered (it expires)."""


@dataclass(kw_only=True, slots=True, frozen=True)
class DemoOptions:
    """What the demo runs."""

    data_dir: Path
    sites: int = 3
    sources: int = 4
    rate: float = 8.0
    bad_fraction: float = 0.04
    mqtt_url: str | None = None
    headless: bool = False
    llm: bool = False
    """Screen with the on-device LLM too (slow on small machines; rules alone by default)."""
    timings: StoryTimings = field(default_factory=StoryTimings)
