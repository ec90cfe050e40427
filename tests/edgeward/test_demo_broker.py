"""The demo's embedded broker keeps what is published while a persistent session is away."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.demo.broker import EmbeddedBroker


def _client(client_id: str, *, persistent: bool) -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=not persistent,
    )


def test_a_persistent_session_gets_what_was_published_while_it_was_offline() -> None:
    broker = EmbeddedBroker()
    broker.start()
    try:
        subscribed = threading.Event()
        agent = _client("edgeward-agent-site-1", persistent=True)
        agent.on_subscribe = lambda *_args: subscribed.set()
        agent.connect("127.0.0.1", broker.port)
        agent.loop_start()
        agent.subscribe("edgeward/site-1/+/metrics", qos=1)
        assert subscribed.wait(10)
        agent.disconnect()  # the agent goes away (restart, dead link); its session stays
        agent.loop_stop()

        simulator = _client("simulator", persistent=False)
        simulator.connect("127.0.0.1", broker.port)
        simulator.loop_start()
        for index in range(5):
            info = simulator.publish("edgeward/site-1/cell-0/metrics", str(index), qos=1)
            info.wait_for_publish(10)
            assert info.is_published()
        simulator.disconnect()
        simulator.loop_stop()

        received: list[bytes] = []
        all_in = threading.Event()

        def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
            received.append(message.payload)
            if len(received) == 5:
                all_in.set()

        back = _client("edgeward-agent-site-1", persistent=True)
        back.on_message = on_message
        back.connect("127.0.0.1", broker.port)
        back.loop_start()
        assert all_in.wait(10), f"only {received} came back"
        back.disconnect()
        back.loop_stop()
        assert sorted(received) == [str(i).encode() for i in range(5)]
    finally:
        broker.stop()
