"""The CURVE server: dispatch and replies, pushes, and identity taken from the handshake only.

Real sockets on 127.0.0.1 with throwaway CURVE keys; agents are plain DEALER sockets here so
that a test can send exactly the frames it wants (tests/edge_agent covers CurveClient).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import zmq

from control_plane.transport import CurveServer, TransportError
from edgeward.errors import EdgewardError
from edgeward.wire import (
    Ack,
    ActivationResult,
    ErrorCode,
    ErrorReply,
    Heartbeat,
    HeartbeatAck,
    ModelOffer,
    WireMessage,
    decode,
    encode,
)
from tests.support.curve import Fleet, Keys, eventually, new_keys


class Agent:
    """A bare CURVE DEALER speaking the wire format, for poking at the server."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str, server: Keys):
        self.keys = new_keys()
        self.socket = context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.curve_serverkey = server.public
        self.socket.curve_publickey = self.keys.public
        self.socket.curve_secretkey = self.keys.secret
        self.socket.connect(endpoint)

    def send(self, message: WireMessage) -> None:
        self.socket.send_multipart(encode(message))

    def receive(self, timeout: float = 2.0) -> WireMessage | None:
        if not self.socket.poll(int(timeout * 1000)):
            return None
        return decode(self.socket.recv_multipart())

    def request(self, message: WireMessage, timeout: float = 2.0) -> WireMessage | None:
        self.send(message)
        return self.receive(timeout)


@pytest.fixture
def server_keys() -> Keys:
    return new_keys()


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


@pytest.fixture
def server(server_keys: Keys, fleet: Fleet) -> Iterator[CurveServer]:
    running = CurveServer(
        bind="tcp://127.0.0.1:*",
        public_key=server_keys.public,
        secret_key=server_keys.secret,
        admit=fleet.admit,
    )
    running.on(Heartbeat, lambda site, beat: HeartbeatAck(seq=beat.seq))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def make_agent(
    context: zmq.Context[zmq.Socket[bytes]], server: CurveServer, server_keys: Keys, fleet: Fleet
) -> Callable[..., Agent]:
    def make(site: str | None = "site-1") -> Agent:
        agent = Agent(context, server.endpoint, server_keys)
        if site is not None:
            fleet.sites[agent.keys.public] = site
        return agent

    return make


def beat(site: str = "site-1", seq: int = 1) -> Heartbeat:
    return Heartbeat(site=site, seq=seq, sent_at=time.time(), health={"uptime_s": 1.0})


def test_a_message_is_dispatched_and_its_reply_answers_it(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent()
    request = beat(seq=41)

    reply = agent.request(request)

    assert isinstance(reply, HeartbeatAck)
    assert reply.seq == 41
    assert reply.reply_to == request.id


def test_handlers_get_the_site_of_the_authenticated_key(
    server: CurveServer, make_agent: Callable[..., Agent]
) -> None:
    seen: list[str] = []
    server.on(ActivationResult, lambda site, result: seen.append(site) or Ack())
    agent = make_agent("site-9")

    reply = agent.request(
        ActivationResult(rollout_id="r1", version=2, site="site-9", status="activated")
    )

    assert isinstance(reply, Ack)
    assert seen == ["site-9"]


def test_a_message_claiming_another_site_is_rejected(
    server: CurveServer, make_agent: Callable[..., Agent]
) -> None:
    seen: list[str] = []
    server.on(ActivationResult, lambda site, result: seen.append(site) or Ack())
    make_agent("site-2")
    impostor = make_agent("site-1")

    reply = impostor.request(
        ActivationResult(rollout_id="r1", version=2, site="site-2", status="activated")
    )

    assert isinstance(reply, ErrorReply)
    assert reply.code == ErrorCode.SITE_MISMATCH
    assert "authenticated as site site-1, not site-2" in reply.detail
    assert seen == []
    assert server.stats().site_mismatches == 1


def test_an_unhandled_type_gets_an_unsupported_error(make_agent: Callable[..., Agent]) -> None:
    reply = make_agent().request(
        ActivationResult(rollout_id="r1", version=2, site="site-1", status="failed")
    )

    assert isinstance(reply, ErrorReply)
    assert reply.code == ErrorCode.UNSUPPORTED


def test_unreadable_frames_get_a_bad_message_error_addressed_to_their_id(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()

    agent.socket.send_multipart([b'{"type": "session.heartbeat", "v": 7, "id": "req-1"}'])
    reply = agent.receive()

    assert isinstance(reply, ErrorReply)
    assert reply.code == ErrorCode.BAD_MESSAGE
    assert reply.reply_to == "req-1"
    assert "schema version 7" in reply.detail


def test_handler_failures_become_error_replies_without_internals(
    server: CurveServer, make_agent: Callable[..., Agent]
) -> None:
    def refuse(site: str, result: ActivationResult) -> WireMessage:
        raise EdgewardError(f"rollout {result.rollout_id} is not running")

    def crash(site: str, offer: ModelOffer) -> WireMessage:
        raise RuntimeError("secret internals")

    server.on(ActivationResult, refuse)
    server.on(ModelOffer, crash)
    agent = make_agent()

    refused = agent.request(
        ActivationResult(rollout_id="r7", version=1, site="site-1", status="failed")
    )
    crashed = agent.request(
        ModelOffer(rollout_id="r7", version=1, bundle_digest="0" * 64, size=1, chunk_size=1)
    )

    assert isinstance(refused, ErrorReply)
    assert refused.code == ErrorCode.REJECTED
    assert refused.detail == "rollout r7 is not running"
    assert isinstance(crashed, ErrorReply)
    assert crashed.code == ErrorCode.INTERNAL
    assert "secret" not in crashed.detail


def test_the_server_pushes_to_a_site_by_name(
    server: CurveServer, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent("site-3")
    assert agent.request(beat("site-3")) is not None
    offer = ModelOffer(rollout_id="r1", version=5, bundle_digest="a" * 64, size=10, chunk_size=4)

    assert server.send("site-3", offer)

    assert agent.receive() == offer


def test_pushing_to_a_site_that_never_connected_returns_false(server: CurveServer) -> None:
    assert not server.send("nowhere", HeartbeatAck(seq=1))


def test_an_unknown_key_hears_only_silence(
    server: CurveServer, make_agent: Callable[..., Agent]
) -> None:
    stranger = make_agent(site=None)

    assert stranger.request(beat(), timeout=0.5) is None
    assert server.stats().received == 0


def test_a_key_revoked_while_connected_is_cut_off_within_a_second(
    server: CurveServer,
    fleet: Fleet,
    make_agent: Callable[..., Agent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = make_agent("site-4")
    assert isinstance(agent.request(beat("site-4")), HeartbeatAck)

    del fleet.sites[agent.keys.public]
    revoked_at = time.monotonic()

    def unserved() -> bool:
        return agent.request(beat("site-4"), timeout=0.1) is None

    assert eventually(unserved, timeout=2.0)
    assert time.monotonic() - revoked_at < 1.5
    assert server.stats().dropped_unadmitted >= 1
    assert not server.send("site-4", HeartbeatAck(seq=1))
    for seq in range(5):
        agent.send(beat("site-4", seq=seq))
    assert eventually(lambda: server.stats().dropped_unadmitted >= 6)
    warnings = [r for r in caplog.records if "no longer enrolled or was revoked" in r.message]
    assert len(warnings) == 1


def test_admission_is_asked_at_most_about_once_a_second_per_key(
    fleet: Fleet, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent()
    asked_before = fleet.asked

    for seq in range(50):
        assert agent.request(beat(seq=seq)) is not None

    assert fleet.asked - asked_before <= 2


def test_stats_count_handled_messages_and_time_them(
    server: CurveServer, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent()
    for seq in range(20):
        agent.request(beat(seq=seq))

    assert eventually(lambda: server.stats().replied == 20)  # counted just after sending
    stats = server.stats()

    assert stats.received == 20
    assert stats.handled == 20
    assert stats.replied == 20
    assert stats.errors == 0
    assert 0 < stats.handling_p50_ms <= stats.handling_p99_ms <= stats.handling_max_ms


def test_binding_a_bad_address_is_a_clear_error(server_keys: Keys, fleet: Fleet) -> None:
    server = CurveServer(
        bind="tcp://256.0.0.1:1",
        public_key=server_keys.public,
        secret_key=server_keys.secret,
        admit=fleet.admit,
    )

    with pytest.raises(TransportError, match=r"cannot listen for agents on tcp://256\.0\.0\.1:1"):
        server.start()
