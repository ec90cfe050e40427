"""MQTT ingestion, agent side: supervise the receiver process and feed its batches to the writer.

The receiver (see `mqtt_receiver`) holds the broker session in a process of its own. Each
batch it forwards becomes writer input; when the writer has committed the batch's last
message, the receiver is told, and only then acknowledges the batch to the broker. A receiver
that dies is restarted with jittered backoff; messages it had not acknowledged are resent by
the broker and recognised as duplicates.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Sequence
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from edge_agent.ingest.json_payload import PayloadLimits, decode_json_payload
from edge_agent.ingest.mqtt_receiver import Message, ReceiverConfig, receiver_main
from edge_agent.ingest.mqtt_topics import TopicSources
from edge_agent.ingest.writer import Inbound, IngestWriter
from edgeward.backoff import Backoff
from edgeward.records import Candidate, QuarantineReason, Rejection

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 15.0


def decode_messages(
    messages: Sequence[Message], *, limits: PayloadLimits, sources: TopicSources
) -> list[Candidate | Rejection]:
    """Decode a batch of MQTT messages; one message's failure never affects the others."""
    decoded: list[Candidate | Rejection] = []
    for topic, payload, _dup in messages:
        origin = f"mqtt:{topic}"
        try:
            decoded.extend(
                decode_json_payload(
                    payload, origin=origin, limits=limits, fallback_source=sources.source_of(topic)
                )
            )
        except Exception as err:  # a decoder bug: keep the message, in quarantine
            log.exception("decoding a message from %s failed unexpectedly", topic)
            decoded.append(
                Rejection(
                    origin=origin,
                    raw=payload,
                    reason=QuarantineReason.INTERNAL_ERROR,
                    detail=f"decoder failed: {type(err).__name__}",
                )
            )
    return decoded


class MqttIngest:
    """Run the receiver process and turn its batches into committed, acknowledged records."""

    def __init__(
        self,
        config: ReceiverConfig,
        *,
        writer: IngestWriter,
        limits: PayloadLimits,
    ) -> None:
        self._config = config
        self._writer = writer
        self._limits = limits
        self._sources = TopicSources(config.topics)
        self._context = multiprocessing.get_context("spawn")
        self._send_lock = threading.Lock()
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def connected(self) -> threading.Event:
        """Return the event set while the receiver has a session with the broker."""
        return self._connected

    def start(self) -> None:
        """Start the receiver process and the thread that reads its batches."""
        self._stopping.clear()
        self._spawn()
        self._reader = threading.Thread(target=self._read_batches, name="mqtt-batches", daemon=True)
        self._reader.start()

    def pause_intake(self) -> None:
        """Ask the receiver to forward nothing more; what it forwarded is still acknowledged."""
        self._send(("pause",))

    def stop(self) -> None:
        """Let the receiver send its last acknowledgements, then end it."""
        self._stopping.set()
        self._send(("stop",))
        process = self._process
        if process is not None:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                log.warning("the MQTT receiver did not stop in time; terminating it")
                process.terminate()
                process.join(5)
        if self._reader is not None:
            self._reader.join(5)
        self._connected.clear()

    def _spawn(self) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=receiver_main,
            args=(self._config, child_end),
            name=f"mqtt-receiver-{self._config.client_id}",
            daemon=True,
        )
        process.start()
        child_end.close()
        self._conn, self._process = parent_end, process

    def _read_batches(self) -> None:
        backoff = Backoff(self._config.settings.reconnect_min_s, 30.0)
        while True:
            conn = self._conn
            if conn is None:
                return
            try:
                message = conn.recv()
            except (EOFError, OSError):
                if self._stopping.is_set():
                    return
                delay = backoff.next_delay()
                log.error("the MQTT receiver exited unexpectedly; restarting it in %.1f s", delay)
                self._connected.clear()
                if self._stopping.wait(delay):
                    return
                self._spawn()
                continue
            self._handle(message)

    def _handle(self, message: tuple[Any, ...]) -> None:
        if message[0] == "connected":
            if message[1]:
                self._connected.set()
            else:
                self._connected.clear()
            return
        _, batch_id, messages = message
        fresh = [m for m in messages if not m[2]]
        resent = [m for m in messages if m[2]]
        groups = [(group, dup) for group, dup in ((fresh, False), (resent, True)) if group]
        for index, (group, dup) in enumerate(groups):
            last = index == len(groups) - 1
            self._writer.submit(
                Inbound(
                    origin="mqtt",
                    raw=b"",
                    decode=partial(
                        decode_messages, group, limits=self._limits, sources=self._sources
                    ),
                    # The writer commits in order, so when the batch's last input is
                    # committed, all of it is.
                    on_commit=partial(self._send, ("committed", batch_id)) if last else None,
                    redelivered=dup,
                )
            )

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            if self._conn is None:
                return
            try:
                self._conn.send(message)
            except OSError:
                log.warning("the MQTT receiver is not listening (%s dropped)", message[0])
