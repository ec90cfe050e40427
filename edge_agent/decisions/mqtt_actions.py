"""Carry out actions by publishing them where the site's equipment listens: an MQTT topic.

Each action is one JSON message, QoS 1, on `edgeward/<site>/<target>/actions` (the target is
the source the decision is about). Equipment controllers subscribe there; the message carries
the decision id so a controller that sees a redelivery can ignore it.
"""

from __future__ import annotations

import json
import logging
import ssl
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.settings import MqttSettings
from edgeward.risk import Decision

log = logging.getLogger(__name__)


def action_topic(site: str, target: str) -> str:
    """Return the topic the action for `target` at `site` is published on."""
    return f"edgeward/{site}/{target or 'site'}/actions"


class MqttActionSink:
    """Publish each executed action to the broker the agent ingests from."""

    def __init__(self, settings: MqttSettings, *, site: str) -> None:
        if settings.url is None:
            raise ValueError("MQTT actions need a broker URL")
        self._settings = settings
        self._site = site
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"edgeward-actions-{site}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5 if settings.protocol == "v5" else mqtt.MQTTv311,
        )
        if settings.use_tls:
            self._client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, password)

    def start(self) -> None:
        """Connect in the background (paho queues what is published meanwhile)."""
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()

    def execute(self, decision: Decision) -> None:
        """Publish the action; paho keeps it (QoS 1) until the broker has it."""
        message = {
            "decision_id": decision.id,
            "action": decision.action.value,
            "target": decision.target,
            "parameters": decision.parameters,
            "model_version": decision.model_version,
            "summary": decision.summary,
        }
        info = self._client.publish(
            action_topic(self._site, decision.target), json.dumps(message), qos=1
        )
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise RuntimeError(f"publishing the action failed: {mqtt.error_string(info.rc)}")
