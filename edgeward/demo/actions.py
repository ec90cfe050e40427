"""Watch the actions the sites carry out, as their equipment sees them on the broker.

Agents publish each action they run on `edgeward/<site>/<target>/actions` with its decision
id. The watch subscribes directly at the broker (not through a site's relay, so a cut link
does not blind it) and keeps how often each decision id arrived. MQTT delivers at least
once, so a repeat of one id is a redelivery the equipment ignores; what the report holds
against the agents is an action whose journal does not say it ran (`guarantees`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.simulator.mqtt_link import parse_mqtt_url

log = logging.getLogger(__name__)
ACTIONS_TOPIC = "edgeward/+/+/actions"


class ActionWatch:
    """Count the action messages seen per (site, decision id)."""

    def __init__(self, broker_url: str, *, mqtt_v311: bool) -> None:
        self._address = parse_mqtt_url(broker_url)
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="edgeward-demo-equipment",
            protocol=mqtt.MQTTv311 if mqtt_v311 else mqtt.MQTTv5,
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._lock = threading.Lock()
        self.seen: Counter[tuple[str, str]] = Counter()
        self.unreadable = 0

    def start(self) -> None:
        """Connect and subscribe in the background."""
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()

    def by_site(self) -> dict[str, Counter[str]]:
        """Return, per site, how many times each decision id's action arrived."""
        with self._lock:
            sites: dict[str, Counter[str]] = {}
            for (site, decision_id), count in self.seen.items():
                sites.setdefault(site, Counter())[decision_id] = count
            return sites

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.subscribe(ACTIONS_TOPIC, qos=1)  # again after every reconnect

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        site = msg.topic.split("/")[1]
        try:
            decision_id = str(json.loads(msg.payload)["decision_id"])
        except (ValueError, KeyError, TypeError):
            with self._lock:
                self.unreadable += 1
            return
        with self._lock:
            self.seen[(site, decision_id)] += 1
