"""The declarative policy: what the active model's forecasts and anomaly scores call for.

Each row names an action, the condition on an `Observation` (the latest reading of a source,
the model's forecast of its next one and the anomaly score of the latest reading) that calls
for it, how confident the call is, which features are its evidence and a one-line summary.
Rows are data: change policy by editing the table; `tests/edge_agent/test_decision_policy.py`
checks each row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from edgeward.risk import Action

ALARM_SCORE: Final = 4.0
ATTACK_SCORE: Final = 8.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Observation:
    """What the model saw and said about one source at one instant."""

    source: str
    ts_ms: int
    values: dict[str, float]
    forecast: dict[str, float]
    score: float
    model_version: int | None = None

    def now(self, name: str) -> float:
        """Return the latest reading of `name` (0 when the source does not report it)."""
        return self.values.get(name, 0.0)

    def next(self, name: str) -> float:
        """Return the forecast of `name` for the next step (the latest reading if none)."""
        return self.forecast.get(name, self.now(name))


def _load_and_heat(o: Observation) -> str:
    """Return "CPU 99%, 91 °C", naming only what the source reports."""
    parts = []
    if "cpu_pct" in o.values:
        parts.append(f"CPU {o.now('cpu_pct'):.0f}%")
    if "temperature_c" in o.values:
        parts.append(f"{o.now('temperature_c'):.0f} °C")
    return ", ".join(parts)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicyRule:
    """One row: when `when` holds for an observation, propose `action`."""

    name: str
    action: Action
    when: Callable[[Observation], bool]
    confidence: Callable[[Observation], float]
    summary: Callable[[Observation], str]
    evidence: tuple[str, ...]
    parameters: dict[str, float | int | str] = field(default_factory=dict)


POLICY: Final[tuple[PolicyRule, ...]] = (
    PolicyRule(
        name="anomaly_alarm",
        action=Action.RAISE_ALARM,
        when=lambda o: o.score >= ALARM_SCORE,
        confidence=lambda o: _clamp(o.score / (2 * ALARM_SCORE)),
        summary=lambda o: f"Raise an alarm on {o.source}: anomaly score {o.score:.1f}",
        evidence=("prb_util_dl", "latency_ms", "packet_loss_pct"),
    ),
    PolicyRule(
        name="congestion_offload",
        action=Action.OFFLOAD_TRAFFIC,
        when=lambda o: o.next("prb_util_dl") >= 85.0,
        confidence=lambda o: _clamp((o.next("prb_util_dl") - 70.0) / 30.0),
        summary=lambda o: (
            f"Offload 20% of {o.source}'s traffic to a neighbour: downlink load forecast "
            f"{o.next('prb_util_dl'):.0f}%, {o.now('active_users'):.0f} users"
        ),
        evidence=("prb_util_dl", "active_users", "dl_throughput_mbps"),
        parameters={"share": 0.2},
    ),
    PolicyRule(
        name="idle_cell_sleep",
        action=Action.SLEEP_CELL,
        when=lambda o: o.next("prb_util_dl") <= 5.0 and o.now("active_users") <= 5,
        confidence=lambda o: _clamp(1.0 - o.next("prb_util_dl") / 10.0),
        summary=lambda o: (
            f"Sleep {o.source} for 30 min: downlink load forecast "
            f"{o.next('prb_util_dl'):.0f}%, {o.now('active_users'):.0f} users"
        ),
        evidence=("prb_util_dl", "active_users"),
        parameters={"duration_min": 30},
    ),
    PolicyRule(
        name="loss_rate_limit",
        action=Action.RATE_LIMIT_SOURCE,
        when=lambda o: o.next("packet_loss_pct") >= 5.0 and o.next("prb_util_ul") >= 80.0,
        confidence=lambda o: _clamp(o.next("packet_loss_pct") / 10.0),
        summary=lambda o: (
            f"Rate-limit uplink on {o.source}: loss forecast {o.next('packet_loss_pct'):.1f}%, "
            f"uplink load {o.next('prb_util_ul'):.0f}%"
        ),
        evidence=("packet_loss_pct", "prb_util_ul", "ul_throughput_mbps"),
        parameters={"max_ul_mbps": 50},
    ),
    PolicyRule(
        name="attack_block",
        action=Action.BLOCK_SOURCE,
        when=lambda o: o.score >= ATTACK_SCORE and o.now("prb_util_ul") >= 90.0,
        confidence=lambda o: _clamp(o.score / (2 * ATTACK_SCORE)),
        summary=lambda o: (
            f"Block the uplink flood on {o.source}: anomaly score {o.score:.1f}, "
            f"uplink load {o.now('prb_util_ul'):.0f}%"
        ),
        evidence=("prb_util_ul", "ul_throughput_mbps", "active_users"),
    ),
    PolicyRule(
        name="overheat_restart",
        action=Action.RESTART_NODE,
        when=lambda o: o.now("cpu_pct") >= 98.0 or o.now("temperature_c") >= 90.0,
        confidence=lambda o: 0.7,
        summary=lambda o: f"Restart the node serving {o.source}: {_load_and_heat(o)}",
        evidence=("cpu_pct", "temperature_c"),
    ),
)


def proposals(observation: Observation) -> list[PolicyRule]:
    """Return the rows of the policy that call for an action on this observation."""
    return [rule for rule in POLICY if rule.when(observation)]
