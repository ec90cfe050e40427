"""What a publishing run is asked to do (`PublishOptions`) and what it did (`PublishReport`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from edgeward.errors import SettingsError
from edgeward.simulator.anomalies import DEFAULT_ANOMALY_RATE, MAX_ANOMALY_RATE
from edgeward.simulator.profiles import check_site
from edgeward.simulator.timeline import MIN_STEP_S


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishOptions:
    """Everything one publishing run needs; the CLI builds it from its flags."""

    site: str
    sources: int
    rate: float
    mqtt_url: str
    seed: int = 0
    seconds: float | None = None
    count: int | None = None
    batch: int = 1
    bad_fraction: float = 0.0
    anomaly_rate: float = DEFAULT_ANOMALY_RATE
    step_s: float | None = None
    start_ts: float | None = None
    labels_file: Path | None = None
    bad_log: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = None
    max_in_flight: int = 100
    connect_timeout_s: float = 10.0
    drain_timeout_s: float = 30.0

    def check(self) -> None:
        """Raise `SettingsError` naming the first option that is out of bounds."""
        try:
            check_site(self.site)
        except ValueError as err:
            raise SettingsError(str(err)) from err
        problems = (
            (self.sources < 1, "sources must be at least 1"),
            (not self.rate > 0 or math.isinf(self.rate), "rate must be a positive number"),
            (self.seed < 0, "seed must be zero or positive"),
            (self.seconds is not None and not self.seconds > 0, "seconds must be positive"),
            (self.count is not None and self.count < 0, "count must not be negative"),
            (self.batch < 1, "batch must be at least 1"),
            (not 0.0 <= self.bad_fraction <= 1.0, "bad fraction must be between 0 and 1"),
            (
                not 0.0 <= self.anomaly_rate <= MAX_ANOMALY_RATE,
                f"anomaly rate must be between 0 and {MAX_ANOMALY_RATE}",
            ),
            (
                self.step_s is not None and not self.step_s >= MIN_STEP_S,
                f"step must be at least {MIN_STEP_S} s",
            ),
            (self.max_in_flight < 1, "max in flight must be at least 1"),
        )
        for path in (self.labels_file, self.bad_log):
            if path is not None and not path.parent.is_dir():
                raise SettingsError(f"the folder of {path} does not exist")
        for failed, message in problems:
            if failed:
                raise SettingsError(message)

    def expected_messages(self) -> int | None:
        """Return how many messages the run will publish if nothing stops it, or None."""
        limits = [self.count] if self.count is not None else []
        if self.seconds is not None:
            limits.append(math.ceil(self.seconds * self.rate))
        return min(limits) if limits else None


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishReport:
    """What a run published.

    `unacknowledged` counts messages the broker had not confirmed when the run gave up
    waiting; `elapsed_s` runs from the first publish to the last acknowledgement.
    """

    published: int
    good: int
    bad: int
    readings: int
    bad_by_reason: dict[str, int]
    anomalies: int
    unacknowledged: int
    elapsed_s: float


def simulated_start(options: PublishOptions, now: float) -> float:
    """Return where simulated time starts so that a bounded run ends near `now`."""
    messages = options.expected_messages()
    if options.step_s is None or messages is None:
        return now
    good = messages * (1.0 - options.bad_fraction)
    steps = math.ceil(good / options.sources) * options.batch
    return now - max(steps - 1, 0) * options.step_s
