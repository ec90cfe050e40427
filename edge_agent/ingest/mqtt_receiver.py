"""The MQTT receiver: a child process that holds the broker session and forwards messages.

Why a process of its own: paho's network loop and the agent's validation and SQLite writes
are both Python, and two busy threads in one interpreter spend their time handing the GIL to
each other (measured: the agent reached 0.40 of a bare subscriber's rate that way). Here the
receiver only batches raw messages and sends them to the agent over a pipe; the agent
commits them and answers with the batch id; only then does the receiver acknowledge each
message to the broker (manual acks, QoS 1). If the agent dies, the receiver exits without
acknowledging, and the broker keeps what was not acknowledged for the persistent session.

Pipe protocol (tuples): receiver to agent `("batch", id, [(topic, payload, dup), ...])` and
`("connected", bool)`; agent to receiver `("committed", id)`, `("pause",)`, `("stop",)`.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.settings import MqttSettings
from edgeward.backoff import Backoff
from edgeward.logs import configure_logging

log = logging.getLogger(__name__)

Message = tuple[str, bytes, bool]


@dataclass(kw_only=True, slots=True, frozen=True)
class ReceiverConfig:
    """What the receiver process needs (picklable: it crosses the process boundary)."""

    settings: MqttSettings
    client_id: str
    topics: tuple[str, ...]
    batch_size: int
    batch_wait_s: float
    log_level: str = "INFO"


def receiver_main(config: ReceiverConfig, conn: Connection) -> None:
    """Entry point of the receiver process."""
    configure_logging(config.log_level)
    MqttReceiver(config, conn).run()


class MqttReceiver:
    """Hold the session, batch messages to the agent, acknowledge committed batches."""

    def __init__(self, config: ReceiverConfig, conn: Connection) -> None:
        self._config = config
        self._conn = conn
        self._lock = threading.Lock()  # guards the pending batch and sends on the pipe
        self._pending: list[Message] = []
        self._pending_mids: list[tuple[int, int]] = []
        self._pending_since = 0.0
        self._batch_id = 0
        self._in_flight: dict[int, tuple[int, list[tuple[int, int]]]] = {}
        self._committed: deque[int] = deque()
        self._ack_lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._paused = False
        self._stop = threading.Event()
        self._backoff = Backoff(config.settings.reconnect_min_s, config.settings.reconnect_max_s)
        self._client = self._make_client()

    def run(self) -> None:
        """Connect, then serve the agent's requests until told to stop or the agent is gone."""
        self._schedule_retry()
        self._connect()
        self._client.loop_start()
        flusher = threading.Thread(target=self._flush_periodically, name="flusher", daemon=True)
        flusher.start()
        try:
            self._serve_agent()
        finally:
            self._stop.set()
            self._client.disconnect()
            self._client.loop_stop()

    def _serve_agent(self) -> None:
        while True:
            try:
                request = self._conn.recv()
            except (EOFError, OSError):
                log.error("the agent is gone; exiting without acknowledging uncommitted messages")
                return
            kind = request[0]
            if kind == "committed":
                self._committed.append(request[1])
                if not self._connected or not self._pending:
                    self._send_acks()
            elif kind == "pause":
                self._paused = True
                with self._lock:
                    self._flush_locked()
            elif kind == "stop":
                self._send_acks()
                return

    def _make_client(self) -> mqtt.Client:
        settings = self._config.settings
        v5 = settings.protocol == "v5"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._config.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if settings.use_tls:
            client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, password)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect(self) -> None:
        settings = self._config.settings
        if settings.protocol == "v5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = settings.session_expiry_s
            properties.ReceiveMaximum = settings.receive_maximum
            self._client.connect_async(
                settings.host,
                settings.port,
                keepalive=settings.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        else:
            self._client.connect_async(settings.host, settings.port, keepalive=settings.keepalive_s)

    def _schedule_retry(self) -> None:
        """Make paho's next reconnection wait the next jittered, growing delay.

        Setting paho's minimum delay resets its own doubling, so each attempt waits exactly
        what `Backoff` says: doubling up to the maximum, randomised so that a fleet which lost
        the same broker does not reconnect in step.
        """
        # paho annotates the delays as int but waits on them as float seconds.
        self._client.reconnect_delay_set(
            self._backoff.next_delay(),  # type: ignore[arg-type]
            self._config.settings.reconnect_max_s,  # type: ignore[arg-type]
        )

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("the broker refused the connection: %s", reason)
            return
        self._backoff.reset()
        self._generation += 1
        self._connected = True
        client.subscribe([(topic, 1) for topic in self._config.topics])
        log.info("connected to %s:%s", self._config.settings.host, self._config.settings.port)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        refused = [str(reason) for reason in reasons if reason.is_failure]
        if refused:
            log.error("the broker refused the subscription: %s", ", ".join(refused))
            return
        self._notify(("connected", True))
        log.info("subscribed to %s", ", ".join(self._config.topics))

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._schedule_retry()
        log.warning(
            "cannot reach the broker at %s:%s; retrying with backoff",
            self._config.settings.host,
            self._config.settings.port,
        )

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected = False
        self._notify(("connected", False))
        if not self._stop.is_set():
            self._schedule_retry()
            if reason.is_failure:
                log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Runs in paho's thread; must never raise (that would end the network loop).
        if self._paused:
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)
        with self._lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append((topic, bytes(message.payload), bool(message.dup)))
            self._pending_mids.append((message.mid, message.qos))
            if len(self._pending) >= self._config.batch_size:
                self._flush_locked()
        # Acknowledging here, in paho's own thread, avoids a GIL hand-off per acknowledgement.
        if self._committed:
            self._send_acks()

    def _flush_locked(self) -> None:
        if not self._pending:
            return
        self._batch_id += 1
        self._in_flight[self._batch_id] = (self._generation, self._pending_mids)
        batch, self._pending, self._pending_mids = self._pending, [], []
        try:
            self._conn.send(("batch", self._batch_id, batch))
        except OSError:
            log.error("cannot hand a batch to the agent; it stays unacknowledged")

    def _flush_periodically(self) -> None:
        wait = max(self._config.batch_wait_s, 0.005)
        while not self._stop.wait(wait):
            with self._lock:
                if self._pending and time.monotonic() - self._pending_since >= wait:
                    self._flush_locked()
                idle = not self._pending
            if idle and self._committed:
                self._send_acks()

    def _send_acks(self) -> None:
        with self._ack_lock:
            while self._committed:
                generation, mids = self._in_flight.pop(self._committed.popleft(), (-1, []))
                # Messages from an earlier connection are not acknowledged: the broker resends
                # them on the new session, and the store recognises them as duplicates.
                if generation != self._generation or not self._connected:
                    continue
                for mid, qos in mids:
                    if qos > 0:
                        self._client.ack(mid, qos)

    def _notify(self, message: tuple[Any, ...]) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._conn.send(message)
