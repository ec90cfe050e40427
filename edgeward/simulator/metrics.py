"""The KPIs the simulator produces, in column order, with the range each is clipped to.

Names and ranges are the bundled schema's (`edgeward/schemas/ran_kpi.toml`); a test checks
that they agree, so the simulator never emits a value the agent would quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricBounds:
    """One simulated metric: canonical name, admissible range and whether it is an integer."""

    name: str
    low: float
    high: float
    integer: bool = False


METRICS: Final = (
    MetricBounds(name="prb_util_dl", low=0.0, high=100.0),
    MetricBounds(name="prb_util_ul", low=0.0, high=100.0),
    MetricBounds(name="dl_throughput_mbps", low=0.0, high=100_000.0),
    MetricBounds(name="ul_throughput_mbps", low=0.0, high=100_000.0),
    MetricBounds(name="active_users", low=0.0, high=100_000.0, integer=True),
    MetricBounds(name="latency_ms", low=0.0, high=10_000.0),
    MetricBounds(name="packet_loss_pct", low=0.0, high=100.0),
    MetricBounds(name="cpu_pct", low=0.0, high=100.0),
    MetricBounds(name="temperature_c", low=-60.0, high=150.0),
)
METRIC_NAMES: Final = tuple(metric.name for metric in METRICS)
COLUMN: Final = {name: index for index, name in enumerate(METRIC_NAMES)}

PRB_DL: Final = COLUMN["prb_util_dl"]
PRB_UL: Final = COLUMN["prb_util_ul"]
DL_THROUGHPUT: Final = COLUMN["dl_throughput_mbps"]
UL_THROUGHPUT: Final = COLUMN["ul_throughput_mbps"]
ACTIVE_USERS: Final = COLUMN["active_users"]
LATENCY: Final = COLUMN["latency_ms"]
PACKET_LOSS: Final = COLUMN["packet_loss_pct"]
CPU: Final = COLUMN["cpu_pct"]
TEMPERATURE: Final = COLUMN["temperature_c"]
