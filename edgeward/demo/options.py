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
class ChaosTimings:
    """When `--chaos` injects faults, and how long each lasts (seconds unless said).

    Faults come one at a time, in rounds: each round injects every kind once, in an order
    and on targets drawn from the seed, so a short run already shows every kind.
    """

    seed: int = 0
    """Seeds the order of faults, their targets, gaps and durations: a run can be replayed."""
    wait_for_champion: bool = True
    """Start once a champion serves: "every site ends with a working model" then tests
    keeping one through the faults, not training the first one under them."""
    gap_min_s: float = 3.0
    gap_max_s: float = 8.0
    """The pause before each fault is drawn from [gap_min_s, gap_max_s]."""
    down_min_s: float = 1.0
    down_max_s: float = 5.0
    """A killed role stays down this long (drawn) before it is started again."""
    link_down_min_s: float = 6.0
    link_down_max_s: float = 15.0
    """A site's link stays cut this long (drawn)."""
    disk_full_s: float = 25.0
    """How long a site's disk stays full before space is freed. Long enough for a WAL
    checkpoint (every few seconds to tens of seconds here) to need room it does not have."""
    disk_headroom_bytes: int = 4096
    """Room left on the "disk": one page; the agent's store may grow this much, no more."""
    restart_timeout_s: float = 120.0
    """A restarted role that is not up again in this long is a failed recovery."""
    cover_timeout_s: float = 600.0
    """Past `--duration`, go on until every kind was injected once, at most this long."""


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
    chaos: ChaosTimings | None = None
    """Inject faults alongside the story (`--chaos`); None: no faults beyond the story's."""
