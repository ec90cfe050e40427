"""The agent daemon: wires the store, governance, the writer and the adapters together.

Later issues add learning, model activation and risk screening to the same daemon; each is
another component with `start()`/`stop()` owned here.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

from edge_agent.control_link import ControlLink
from edge_agent.decisions.mqtt_actions import MqttActionSink
from edge_agent.decisions.stack import DecisionStack
from edge_agent.enrollment import load_identity
from edge_agent.governance.pii import PiiScrubber, load_or_create_pii_key
from edge_agent.governance.validator import RecordValidator
from edge_agent.inference import LiveQuality
from edge_agent.ingest.json_payload import PayloadLimits
from edge_agent.ingest.mqtt_receiver import ReceiverConfig
from edge_agent.ingest.mqtt_source import MqttIngest
from edge_agent.ingest.pm_folder import PmFolderWatcher
from edge_agent.ingest.prometheus import PrometheusScraper
from edge_agent.ingest.writer import IngestWriter
from edge_agent.learning.supernode import SuperNodeOptions, SuperNodeSupervisor
from edge_agent.model_store import ModelStore
from edge_agent.settings import AgentSettings
from edge_agent.store import AgentStore, RetentionPolicy, apply_retention, health_snapshot
from edge_agent.torch_threads import limit_torch_threads
from edgeward.fl_protocol import NODE_DATA_DIR, NODE_SITE
from edgeward.schema import load_schema
from edgeward.workers import PeriodicWorker

log = logging.getLogger(__name__)
IDENTITY_DIR = "identity"


class Component(Protocol):
    """Anything the daemon starts and stops."""

    def start(self) -> None:
        """Start working in the background."""

    def stop(self) -> None:
        """Stop and release resources."""


@dataclass(kw_only=True, slots=True)
class IngestStack:
    """The pieces every ingestion path shares: one store, one validator, one writer."""

    store: AgentStore
    validator: RecordValidator
    writer: IngestWriter
    schema_hash: str


def build_ingest_stack(
    settings: AgentSettings, *, clock: Callable[[], float] = time.time
) -> IngestStack:
    """Open the store, register the schema and build the validator and the writer."""
    schema = load_schema(settings.schema_file)
    store = AgentStore.open(
        settings.data_dir,
        synchronous=settings.store.synchronous,
        raw_max_bytes=settings.ingest.quarantine_raw_max_bytes,
    )
    schema_id = store.register_schema(schema)
    scrubber = PiiScrubber(schema.pii, load_or_create_pii_key(settings.data_dir))
    validator = RecordValidator(schema, scrubber)
    writer = IngestWriter(
        store,
        validator,
        schema_id=schema_id,
        max_batch=settings.ingest.writer_batch,
        max_wait_s=settings.ingest.writer_wait_ms / 1000,
        clock=clock,
    )
    return IngestStack(
        store=store, validator=validator, writer=writer, schema_hash=schema.content_hash
    )


class RetentionWorker(PeriodicWorker):
    """Apply the retention policy at start and then every `interval_s`."""

    def __init__(
        self,
        store: AgentStore,
        policy: RetentionPolicy,
        *,
        interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name="retention", interval_s=interval_s)
        self._store = store
        self._policy = policy
        self._clock = clock

    def tick(self) -> None:
        """Delete what the policy says has expired."""
        result = apply_retention(self._store, self._policy, now=self._clock())
        if result.readings or result.quarantine:
            log.info(
                "retention deleted %d readings and %d quarantine entries",
                result.readings,
                result.quarantine,
            )


def supernode_options(settings: AgentSettings) -> SuperNodeOptions:
    """Return how this site's SuperNode is started: its store and name go in its node config."""
    learning = settings.learning
    return SuperNodeOptions(
        superlink=learning.superlink or "",
        runtime_port=learning.runtime_port,
        node_config={NODE_DATA_DIR: str(settings.data_dir.resolve()), NODE_SITE: settings.site},
        log_file=settings.data_dir / "supernode.log",
        root_certificates=learning.root_certificates,
        insecure=learning.insecure,
        auth_private_key=learning.auth_private_key,
        auth_public_key=learning.auth_public_key,
        restart_min_s=learning.restart_min_s,
        restart_max_s=learning.restart_max_s,
    )


class AgentDaemon:
    """Run ingestion (and, later, learning and acting) until told to stop."""

    def __init__(self, settings: AgentSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.stack = build_ingest_stack(settings, clock=clock)
        self.mqtt: MqttIngest | None = None
        self._stopped = threading.Event()
        # Sources first stop taking input; then the writer drains (acknowledging through
        # the still-open MQTT session); then the session closes.
        self._sources: list[Component] = []
        if settings.mqtt.url:
            self.mqtt = MqttIngest(
                ReceiverConfig(
                    settings=settings.mqtt,
                    client_id=settings.mqtt_client_id,
                    topics=settings.mqtt_topics,
                    batch_size=settings.ingest.writer_batch,
                    batch_wait_s=settings.ingest.writer_wait_ms / 1000,
                    log_level=settings.log_level,
                ),
                writer=self.stack.writer,
                limits=PayloadLimits(
                    max_bytes=settings.ingest.max_payload_bytes,
                    max_batch=settings.ingest.max_batch_records,
                ),
            )
        if settings.pm_files.watch_dir is not None:
            self._sources.append(PmFolderWatcher(settings.pm_files, self.stack.writer, clock=clock))
        for target in settings.prometheus:
            self._sources.append(
                PrometheusScraper(target, self.stack.writer, self.stack.store, clock=clock)
            )
        self.supernode = (
            SuperNodeSupervisor(supernode_options(settings))
            if settings.learning.superlink
            else None
        )
        self._started_at = clock()
        self._clock = clock
        self.models = ModelStore(settings.data_dir)
        self.models.recover()
        self.quality = LiveQuality(
            AgentStore.open_read_only(settings.data_dir),
            self.models,
            interval_s=settings.control.live_quality_interval_s,
            alarm_threshold=settings.control.alarm_threshold,
            clock=clock,
        )
        self.link: ControlLink | None = None
        if settings.control.enabled and (settings.data_dir / IDENTITY_DIR).exists():
            self.link = ControlLink(
                identity=load_identity(settings.data_dir),
                store=self.stack.store,
                models=self.models,
                quality=self.quality,
                schema_hash=self.stack.schema_hash,
                heartbeat_interval_s=settings.control.heartbeat_interval_s,
                health=self._health,
                clock=clock,
            )
        self.decisions: DecisionStack | None = None
        if settings.decisions.enabled and settings.mqtt.url:
            self.decisions = DecisionStack(
                site=settings.site,
                settings=settings.decisions,
                store=self.stack.store,
                models=self.models,
                writer=self.stack.writer,
                sink=MqttActionSink(settings.mqtt, site=settings.site),
                link=self.link,
                clock=clock,
            )
        self._retention = RetentionWorker(
            self.stack.store,
            RetentionPolicy(
                readings_days=settings.retention.readings_days,
                quarantine_days=settings.retention.quarantine_days,
            ),
            interval_s=settings.retention.interval_s,
            clock=clock,
        )

    def start(self) -> None:
        """Start the writer, then every input, then retention and the SuperNode."""
        limit_torch_threads()  # activation and live quality run torch in this process
        if self.decisions is not None:
            self.decisions.start()  # before the writer, so no stored reading goes unobserved
        self.stack.writer.start()
        if self.mqtt is not None:
            self.mqtt.start()
        for source in self._sources:
            source.start()
        self._retention.start()
        self.quality.start()
        if self.link is not None:
            self.link.start()
        if self.supernode is not None:
            self.supernode.start()
        log.info(
            "agent for site %s is running (store %s)", self.settings.site, self.settings.data_dir
        )

    def stop(self) -> None:
        """Stop inputs, commit and acknowledge what is queued, then close the store."""
        if self.mqtt is not None:
            self.mqtt.pause_intake()
        for source in self._sources:
            source.stop()
        self.stack.writer.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
        self._retention.stop()
        if self.decisions is not None:
            self.decisions.stop()
        if self.link is not None:
            self.link.stop()
        self.quality.stop()
        if self.supernode is not None:
            self.supernode.stop()
        self.stack.store.close()
        self._stopped.set()
        log.info("agent for site %s stopped cleanly", self.settings.site)

    def _health(self) -> dict[str, float]:
        now = self._clock()
        return {
            "uptime_s": round(now - self._started_at, 1),
            **health_snapshot(self.stack.store, now=now),
        }

    def run_until_signal(self) -> None:
        """Start, wait for SIGTERM or SIGINT, then stop cleanly."""
        stop = threading.Event()

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s; stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.start()
        while not stop.wait(1.0):
            pass
        self.stop()
