"""The agent's settings: declared once, with defaults; see `edgeward.settings` for loading.

Every key can be set in the `[agent]` table of a TOML file, by `EDGEWARD_AGENT__<KEY>`
(nesting with `__`, e.g. `EDGEWARD_AGENT__MQTT__URL`) or, for the common ones, by a flag.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from edgeward.settings import load_settings

SITE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
ROLE = "agent"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    """The broker the agent subscribes to (none: no MQTT ingestion)."""

    url: str | None = None
    topics: tuple[str, ...] = ("edgeward/{site}/+/metrics",)
    client_id: str | None = None
    protocol: Literal["v5", "v311"] = "v5"
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    receive_maximum: int = Field(default=1000, ge=1, le=65535)
    session_expiry_s: int = Field(default=7 * 86400, ge=0)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url_is_mqtt(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"must start with mqtt:// or mqtts:// (got {url!r})")
        if not parts.hostname:
            raise ValueError(f"has no host (got {url!r})")
        try:
            parts.port  # noqa: B018 - parsing the port validates it
        except ValueError as err:
            raise ValueError(f"has an invalid port (got {url!r})") from err
        return url

    @field_validator("topics")
    @classmethod
    def _topics_have_one_source_level(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        if not topics:
            raise ValueError("needs at least one topic")
        for topic in topics:
            if "#" in topic[:-1] or not topic:
                raise ValueError(f"topic {topic!r}: '#' may only end a topic filter")
        return topics

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> MqttSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s is above reconnect_max_s")
        return self

    @property
    def host(self) -> str:
        """Return the broker host name."""
        return urlsplit(self.url or "").hostname or ""

    @property
    def port(self) -> int:
        """Return the broker port (1883, or 8883 for mqtts, when the URL gives none)."""
        parts = urlsplit(self.url or "")
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def use_tls(self) -> bool:
        """Return whether to connect with TLS (mqtts://, or any certificate file set)."""
        return (self.url or "").startswith("mqtts://") or self.ca_file is not None


class IngestSettings(_Section):
    """Limits on inputs and how the writer batches them."""

    max_payload_bytes: int = Field(default=64 * 1024, ge=64)
    max_batch_records: int = Field(default=10_000, ge=1)
    writer_batch: int = Field(default=500, ge=1)
    # How long a record waits for others to share its commit. Measured here
    # (benchmarks/decision_latency.py, benchmarks/ingest.py): 20 ms put the p99 from a record
    # to its action at 93 ms; 5 ms at 24 ms, with the same ingest rate under a flood (batches
    # still fill while a commit runs).
    writer_wait_ms: int = Field(default=5, ge=0)
    quarantine_raw_max_bytes: int = Field(default=4096, ge=64)


class PmFileSettings(_Section):
    """A folder where 3GPP TS 32.435 measurement files are dropped (none: not watched)."""

    watch_dir: Path | None = None
    poll_interval_s: float = Field(default=5.0, gt=0)
    settle_s: float = Field(default=2.0, ge=0)
    max_file_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)


class PrometheusTarget(_Section):
    """One exporter to scrape: its records are named after a label or a fixed source."""

    url: str
    source: str
    interval_s: float = Field(default=15.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)
    source_label: str | None = None
    include: tuple[str, ...] = ()
    max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"must be an http:// or https:// URL (got {url!r})")
        return url

    @field_validator("include")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"include pattern {pattern!r} is invalid: {err}") from err
        return patterns


class RetentionSettings(_Section):
    """How long each table keeps rows, and how often retention runs."""

    readings_days: float = Field(default=7.0, gt=0)
    quarantine_days: float = Field(default=30.0, gt=0)
    interval_s: float = Field(default=3600.0, gt=0)


class LearningSettings(_Section):
    """The aggregator's SuperLink this site learns with (none: no federated learning)."""

    superlink: str | None = None
    root_certificates: Path | None = None
    insecure: bool = False
    runtime_port: int = Field(default=9094, ge=1, le=65535)
    auth_private_key: Path | None = None
    auth_public_key: Path | None = None
    restart_min_s: float = Field(default=1.0, gt=0)
    restart_max_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _secure_unless_said(self) -> LearningSettings:
        if self.superlink and not self.insecure and self.root_certificates is None:
            raise ValueError("root_certificates (the project CA) is needed, or insecure = true")
        if (self.auth_private_key is None) != (self.auth_public_key is None):
            raise ValueError("auth_private_key and auth_public_key must be given together")
        return self


class ControlSettings(_Section):
    """The link to the control plane (used once `edgeward agent enroll` installed an identity)."""

    enabled: bool = True
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    live_quality_interval_s: float = Field(default=5.0, gt=0)
    alarm_threshold: float = Field(default=4.0, gt=0)


class DecisionsSettings(_Section):
    """How the active model's forecasts become screened actions on this site."""

    enabled: bool = True
    peak_hours: tuple[int, ...] = tuple(range(8, 22))
    protected_sources: tuple[str, ...] = ()
    approval_timeout_s: float = Field(default=900.0, gt=0)
    cooldown_s: float = Field(default=300.0, ge=0)
    llm_enabled: bool = True
    llm_model: Path | None = None
    llm_timeout_s: float = Field(default=2.0, gt=0)
    expiry_interval_s: float = Field(default=5.0, gt=0)


class StoreSettings(_Section):
    """Durability of the local store: "full" survives power loss, "normal" a crash."""

    synchronous: Literal["full", "normal"] = "full"


class AgentSettings(_Section):
    """Everything `edgeward agent run` needs."""

    site: str = Field(pattern=SITE_PATTERN)
    data_dir: Path
    schema_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    pm_files: PmFileSettings = PmFileSettings()
    prometheus: tuple[PrometheusTarget, ...] = ()
    retention: RetentionSettings = RetentionSettings()
    store: StoreSettings = StoreSettings()
    learning: LearningSettings = LearningSettings()
    control: ControlSettings = ControlSettings()
    decisions: DecisionsSettings = DecisionsSettings()

    @property
    def mqtt_client_id(self) -> str:
        """Return the MQTT client id: stable, so the broker keeps the session across restarts."""
        return self.mqtt.client_id or f"edgeward-agent-{self.site}"

    @property
    def mqtt_topics(self) -> tuple[str, ...]:
        """Return the topic filters with `{site}` filled in."""
        return tuple(topic.replace("{site}", self.site) for topic in self.mqtt.topics)


def load_agent_settings(
    config_file: Path | None = None, flags: dict[str, object] | None = None
) -> AgentSettings:
    """Load and validate the agent's settings (raises `SettingsError` with one line)."""
    return load_settings(AgentSettings, role=ROLE, config_file=config_file, flags=flags)
