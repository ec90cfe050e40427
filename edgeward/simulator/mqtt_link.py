"""A paho-mqtt 2.x publisher that bounds messages in flight and waits for acknowledgements.

A QoS 1 publisher that hands paho messages faster than the broker acknowledges them grows
paho's queue without bound and then stalls; here `publish` blocks while `max_in_flight`
messages are unacknowledged. paho's network thread reconnects by itself after a drop and
resends what was not acknowledged, so a publish made while disconnected is kept, not lost.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.errors import CertificateError, ConnectionFailed, SettingsError

log = logging.getLogger(__name__)

_TLS_SCHEMES: Final = {"mqtts": 8883, "ssl": 8883, "tls": 8883}
_PLAIN_SCHEMES: Final = {"mqtt": 1883, "tcp": 1883}


@dataclass(frozen=True, kw_only=True, slots=True)
class BrokerAddress:
    """Where the broker listens and whether the URL asked for TLS."""

    host: str
    port: int
    tls: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class TlsFiles:
    """PEM files for TLS: the CA to trust and, for client authentication, a cert and key."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


def parse_mqtt_url(url: str) -> BrokerAddress:
    """Parse `mqtt://host[:port]` or `mqtts://host[:port]` (also tcp, ssl, tls)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise SettingsError(f"MQTT URL {url!r} is not valid: {err}") from err
    scheme = parts.scheme.lower()
    if scheme not in _TLS_SCHEMES and scheme not in _PLAIN_SCHEMES:
        raise SettingsError(f"MQTT URL {url!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise SettingsError(f"MQTT URL {url!r} names no host")
    default_port = _TLS_SCHEMES.get(scheme) or _PLAIN_SCHEMES[scheme]
    return BrokerAddress(host=parts.hostname, port=port or default_port, tls=scheme in _TLS_SCHEMES)


class MqttPublisher:
    """Publish to one broker at QoS 1 with a bounded number of unacknowledged messages."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        tls: TlsFiles | None = None,
        max_in_flight: int = 100,
        qos: int = 1,
        keepalive_s: int = 30,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.address = address
        self._qos = qos
        self._keepalive_s = keepalive_s
        self._max_in_flight = max_in_flight
        self._pending = 0
        self.acknowledged = 0
        self._changed = threading.Condition()
        self._connected = threading.Event()
        self._refused: str | None = None
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id
        )
        self._client.max_inflight_messages_set(max_in_flight)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        files = tls or TlsFiles()
        if address.tls or files.ca_file or files.cert_file:
            self._set_tls(files)

    def _set_tls(self, files: TlsFiles) -> None:
        for path in (files.ca_file, files.cert_file, files.key_file):
            if path is not None and not path.is_file():
                raise CertificateError(f"TLS file {path} does not exist")
        try:
            self._client.tls_set(
                ca_certs=str(files.ca_file) if files.ca_file else None,
                certfile=str(files.cert_file) if files.cert_file else None,
                keyfile=str(files.key_file) if files.key_file else None,
            )
        except (OSError, ssl.SSLError, ValueError) as err:
            raise CertificateError(f"cannot use the TLS files for MQTT: {err}") from err

    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect and start paho's network thread; raise `ConnectionFailed` on failure."""
        where = f"{self.address.host}:{self.address.port}"
        try:
            self._client.connect(self.address.host, self.address.port, self._keepalive_s)
        except (OSError, ssl.SSLError) as err:
            raise ConnectionFailed(f"cannot reach the MQTT broker at {where}: {err}") from err
        self._client.loop_start()
        if self._connected.wait(timeout_s) and not self._refused:
            return
        self.close()
        if self._refused:
            raise ConnectionFailed(
                f"the MQTT broker at {where} refused the connection: {self._refused}"
            )
        raise ConnectionFailed(
            f"the MQTT broker at {where} did not accept the connection within {timeout_s:g} s"
            " (with TLS, check that it trusts this client's certificate)"
        )

    def publish(self, topic: str, payload: bytes, *, stop: threading.Event | None = None) -> bool:
        """Queue one message, waiting for room in flight; False if `stop` was set first."""
        with self._changed:
            while self._pending >= self._max_in_flight:
                if stop is not None and stop.is_set():
                    return False
                self._changed.wait(0.1)
            self._pending += 1
        # While disconnected paho keeps the message and sends it after reconnecting.
        self._client.publish(topic, payload, qos=self._qos)
        return True

    @property
    def pending(self) -> int:
        """Return how many published messages are not acknowledged yet."""
        with self._changed:
            return self._pending

    def drain(self, timeout_s: float) -> int:
        """Wait until every message is acknowledged or `timeout_s` passes; return the rest."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._pending

    def close(self) -> None:
        """Disconnect and stop the network thread (unacknowledged messages are dropped)."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            log.warning("MQTT broker refused the connection: %s", reason)
        elif self._connected.is_set():
            log.info("reconnected to the MQTT broker")
        self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("lost the MQTT connection (%s); paho will reconnect", reason)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        with self._changed:
            self._pending -= 1
            self.acknowledged += 1
            self._changed.notify_all()
