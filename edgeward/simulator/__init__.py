"""Simulated base-station KPIs with injected anomalies, bad payloads, and an MQTT publisher."""

from edgeward.simulator.anomalies import (
    DEFAULT_ANOMALY_RATE,
    Anomaly,
    AnomalyKind,
)
from edgeward.simulator.bad_payloads import (
    BAD_PAYLOAD_KIND_NAMES,
    BAD_PAYLOAD_KINDS,
    BadPayload,
    BadPayloadFactory,
)
from edgeward.simulator.kpi_model import KpiSimulator, Reading, SimulatedSeries, Tick, simulate
from edgeward.simulator.metrics import METRIC_NAMES, METRICS, MetricBounds
from edgeward.simulator.mqtt_link import BrokerAddress, MqttPublisher, TlsFiles, parse_mqtt_url
from edgeward.simulator.profiles import (
    CellType,
    SiteProfile,
    SourceProfile,
    profiles_for,
    site_profile,
    source_name,
)
from edgeward.simulator.publisher import (
    MessageSink,
    encode_readings,
    publish_simulation,
    run_simulation,
    topic_for,
)
from edgeward.simulator.run_options import PublishOptions, PublishReport

__all__ = [
    "BAD_PAYLOAD_KINDS",
    "BAD_PAYLOAD_KIND_NAMES",
    "DEFAULT_ANOMALY_RATE",
    "METRICS",
    "METRIC_NAMES",
    "Anomaly",
    "AnomalyKind",
    "BadPayload",
    "BadPayloadFactory",
    "BrokerAddress",
    "CellType",
    "KpiSimulator",
    "MessageSink",
    "MetricBounds",
    "MqttPublisher",
    "PublishOptions",
    "PublishReport",
    "Reading",
    "SimulatedSeries",
    "SiteProfile",
    "SourceProfile",
    "Tick",
    "TlsFiles",
    "encode_readings",
    "parse_mqtt_url",
    "profiles_for",
    "publish_simulation",
    "run_simulation",
    "simulate",
    "site_profile",
    "source_name",
    "topic_for",
]
