"""Publish simulated KPIs (and optionally bad payloads) to an MQTT broker at a target rate.

Messages go to `edgeward/<site>/<source>/metrics` at QoS 1, cells taking turns. A message
holds one reading (`{"ts", "source", "metrics"}`) or, with `batch > 1`, a JSON array of
consecutive readings of one cell. Pacing follows a monotonic schedule (message k is due at
k / rate), so the rate does not drift with the time each publish takes.

Time: by default a reading's `ts` is the wall clock when its round of messages starts (a
round is one message per cell; batched readings are spaced back from it so that they are
distinct). With `step_s`, time is simulated instead: readings are `step_s` apart from
`start_ts`, which by default is chosen so that the series ends near now.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Final, Protocol, TextIO

import numpy as np

from edgeward.errors import SettingsError
from edgeward.simulator.anomalies import Anomaly
from edgeward.simulator.bad_payloads import BadPayload, BadPayloadFactory
from edgeward.simulator.kpi_model import KpiSimulator, Reading
from edgeward.simulator.mqtt_link import MqttPublisher, TlsFiles, parse_mqtt_url
from edgeward.simulator.profiles import BAD_PAYLOAD_KEY, seed_sequence
from edgeward.simulator.run_options import PublishOptions, PublishReport, simulated_start
from edgeward.simulator.timeline import Timeline

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S: Final = 0.1
MAX_BACKLOG_S: Final = 1.0  # how far behind schedule a run may be before it stops catching up


def topic_for(site: str, source: str) -> str:
    """Return the MQTT topic a source's metrics are published on."""
    return f"edgeward/{site}/{source}/metrics"


def encode_readings(readings: Sequence[Reading]) -> bytes:
    """Return the MQTT payload for readings of one source: an object, or an array of them."""
    documents = [reading.to_json() for reading in readings]
    body = documents[0] if len(documents) == 1 else documents
    return json.dumps(body, separators=(",", ":")).encode()


class _Run:
    """One publishing run: pacing, choosing good or bad messages, counting, ground truth."""

    def __init__(
        self,
        options: PublishOptions,
        sink: MessageSink,
        *,
        labels: TextIO | None,
        bad_log: TextIO | None,
        stop: threading.Event,
        on_progress: Callable[[int], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self._options = options
        self._sink = sink
        self._labels = labels
        self._bad_log = bad_log
        self._stop = stop
        self._on_progress = on_progress
        self._clock = clock
        self._simulator = KpiSimulator(
            site=options.site,
            sources=options.sources,
            seed=options.seed,
            anomaly_rate=options.anomaly_rate,
        )
        self._topics = [topic_for(options.site, s) for s in self._simulator.sources]
        self._rng = np.random.default_rng(
            seed_sequence(options.seed, options.site, *BAD_PAYLOAD_KEY)
        )
        self._bad = BadPayloadFactory(self._rng)
        start_ts = options.start_ts
        if start_ts is None and options.step_s is not None:
            start_ts = simulated_start(options, clock())
        self._timeline = Timeline(
            batch=options.batch,
            clock=clock,
            real_step_s=options.sources / (options.rate * options.batch),
            step_s=options.step_s,
            start_ts=start_ts,
        )
        self.published = self.good = self.bad = self.readings = self.anomalies = 0
        self.bad_by_reason: dict[str, int] = {}

    def execute(self) -> None:
        """Publish until a limit is reached or `stop` is set."""
        options = self._options
        limit = options.expected_messages()
        interval = 1.0 / options.rate
        good_messages = self._good_messages()
        started = time.monotonic()
        origin = started  # message k is due at origin + k * interval
        last_progress = started
        while not self._stop.is_set() and (limit is None or self.published < limit):
            now = time.monotonic()
            if options.seconds is not None and now - started >= options.seconds:
                break
            delay = origin + self.published * interval - now
            if delay < -MAX_BACKLOG_S:  # after a stall, catch up one second at most
                origin -= delay + MAX_BACKLOG_S
            elif delay > 0.0005 and self._stop.wait(delay):
                break
            if options.bad_fraction and self._rng.random() < options.bad_fraction:
                topic, bad = self._bad_message()
                if not self._sink.publish(topic, bad.payload, stop=self._stop):
                    break
                self._count_bad(topic, bad)
            else:
                topic, payload, readings = next(good_messages)
                if not self._sink.publish(topic, payload, stop=self._stop):
                    break
                self.good += 1
                self.readings += readings
            self.published += 1
            if self._on_progress is not None and now - last_progress >= PROGRESS_INTERVAL_S:
                self._on_progress(self.published)
                last_progress = now
        self._write_labels(self._simulator.close())
        if self._on_progress is not None:
            self._on_progress(self.published)

    def _good_messages(self) -> Iterator[tuple[str, bytes, int]]:
        while True:
            ticks = [self._simulator.step(ts) for ts in self._timeline.next_round()]
            for tick in ticks:
                self._write_labels(tick.ended)
            for cell, topic in enumerate(self._topics):
                readings = [tick.readings[cell] for tick in ticks]
                yield topic, encode_readings(readings), len(readings)

    def _bad_message(self) -> tuple[str, BadPayload]:
        cell = int(self._rng.integers(len(self._topics)))
        bad = self._bad.random(now=self._clock(), source=self._simulator.sources[cell])
        return self._topics[cell], bad

    def _count_bad(self, topic: str, bad: BadPayload) -> None:
        self.bad += 1
        self.bad_by_reason[bad.reason.value] = self.bad_by_reason.get(bad.reason.value, 0) + 1
        if self._bad_log is not None:
            line = {"topic": topic, "kind": bad.kind, "reason": bad.reason.value}
            self._bad_log.write(json.dumps(line) + "\n")

    def _write_labels(self, anomalies: Sequence[Anomaly]) -> None:
        self.anomalies += len(anomalies)
        if self._labels is not None:
            for anomaly in anomalies:
                self._labels.write(json.dumps(anomaly.to_json()) + "\n")


def _open_jsonl(path: Path | None, stack: ExitStack, what: str) -> TextIO | None:
    if path is None:
        return None
    try:
        return stack.enter_context(path.open("w", encoding="utf-8"))
    except OSError as err:
        raise SettingsError(f"cannot write the {what} file {path}: {err}") from err


class MessageSink(Protocol):
    """Where a run's messages go: `MqttPublisher`, or a fake in tests."""

    def publish(self, topic: str, payload: bytes, *, stop: threading.Event | None = None) -> bool:
        """Send one message; return False if `stop` was set before it could be sent."""
        ...

    def drain(self, timeout_s: float) -> int:
        """Wait for outstanding messages to be confirmed; return how many are not."""
        ...


def publish_simulation(
    options: PublishOptions,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> PublishReport:
    """Connect to the broker in `options.mqtt_url` and publish a simulated run there.

    Returns when the count or time limit is reached or `stop` is set, after the broker has
    acknowledged every message or `drain_timeout_s` has passed. Raises `SettingsError`,
    `CertificateError` or `ConnectionFailed` with a sentence for people.
    """
    options.check()
    address = parse_mqtt_url(options.mqtt_url)
    tls = TlsFiles(ca_file=options.ca_file, cert_file=options.cert_file, key_file=options.key_file)
    client_id = options.client_id or f"edgeward-sim-{options.site[:20]}-{secrets.token_hex(3)}"
    with MqttPublisher(
        address, client_id=client_id, tls=tls, max_in_flight=options.max_in_flight
    ) as link:
        link.connect(options.connect_timeout_s)
        return run_simulation(options, link, stop=stop, on_progress=on_progress, clock=clock)


def run_simulation(
    options: PublishOptions,
    sink: MessageSink,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> PublishReport:
    """Publish a simulated run to `sink` as `options` say, then wait for it to drain.

    `clock` gives the wall-clock time (epoch seconds) used for timestamps; pacing always
    uses the monotonic clock. `on_progress` receives the number of messages published so
    far, at most every 0.1 s and once at the end.
    """
    options.check()
    with ExitStack() as stack:
        run = _Run(
            options,
            sink,
            labels=_open_jsonl(options.labels_file, stack, "labels"),
            bad_log=_open_jsonl(options.bad_log, stack, "bad payload log"),
            stop=stop if stop is not None else threading.Event(),
            on_progress=on_progress,
            clock=clock,
        )
        started = time.monotonic()
        run.execute()
        unacknowledged = sink.drain(options.drain_timeout_s)
        elapsed = time.monotonic() - started
    if unacknowledged:
        log.warning("%d messages were not acknowledged by the broker", unacknowledged)
    return PublishReport(
        published=run.published,
        good=run.good,
        bad=run.bad,
        readings=run.readings,
        bad_by_reason=dict(sorted(run.bad_by_reason.items())),
        anomalies=run.anomalies,
        unacknowledged=unacknowledged,
        elapsed_s=elapsed,
    )
