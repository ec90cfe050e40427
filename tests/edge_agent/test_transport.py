"""The agent's link: CurveClient against a real CurveServer, and the store-and-forward outbox.

Real sockets on 127.0.0.1 with throwaway CURVE keys.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from control_plane.transport import CurveServer
from edge_agent.store import AgentStore
from edge_agent.transport import (
    REFUSED_SENTENCE,
    AgentRefused,
    CurveClient,
    Outbox,
    RequestTimeout,
    TransportError,
)
from edgeward.backoff import Backoff
from edgeward.wire import (
    Ack,
    ActivationResult,
    DecisionReport,
    ErrorCode,
    ErrorReply,
    Heartbeat,
    HeartbeatAck,
    ModelOffer,
    RollbackOrder,
    WireMessage,
)
from tests.support.curve import Fleet, Keys, eventually, new_keys


def free_endpoint() -> str:
    """Return a TCP endpoint on 127.0.0.1 that nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


class ControlPlane:
    """A CurveServer with an idempotent ActivationResult handler, like the real one will be."""

    def __init__(self, keys: Keys, fleet: Fleet, bind: str = "tcp://127.0.0.1:*") -> None:
        self.server = CurveServer(
            bind=bind, public_key=keys.public, secret_key=keys.secret, admit=fleet.admit
        )
        self.results: dict[tuple[str, int, str], ActivationResult] = {}
        self.deliveries: list[str] = []
        self.ignore_first = 0
        self.acks: list[Ack] = []
        self.server.on(Heartbeat, lambda site, beat: HeartbeatAck(seq=beat.seq))
        self.server.on(ActivationResult, self.on_result)
        self.server.on(Ack, lambda site, ack: self.acks.append(ack))

    def on_result(self, site: str, result: ActivationResult) -> WireMessage | None:
        self.deliveries.append(result.id)
        if len(self.deliveries) <= self.ignore_first:
            return None  # as if the reply were lost
        self.results.setdefault((result.rollout_id, result.version, result.site), result)
        return Ack()


@pytest.fixture
def server_keys() -> Keys:
    return new_keys()


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


@pytest.fixture
def control_plane(server_keys: Keys, fleet: Fleet) -> Iterator[ControlPlane]:
    plane = ControlPlane(server_keys, fleet)
    plane.server.start()
    yield plane
    plane.server.stop()


@pytest.fixture
def make_client(server_keys: Keys, fleet: Fleet) -> Iterator[Callable[..., CurveClient]]:
    started: list[CurveClient] = []

    def make(endpoint: str, site: str | None = "site-1", start: bool = True) -> CurveClient:
        keys = new_keys()
        if site is not None:
            fleet.sites[keys.public] = site
        client = CurveClient(
            endpoint=endpoint,
            server_public_key=server_keys.public,
            public_key=keys.public,
            secret_key=keys.secret,
            reconnect_ivl_ms=50,
            reconnect_ivl_max_ms=200,
            redial_backoff=Backoff(0.05, 0.2),
        )
        if start:
            client.start()
            started.append(client)
        return client

    yield make
    for client in started:
        client.stop()


def result(version: int = 2, site: str = "site-1") -> ActivationResult:
    return ActivationResult(rollout_id="r-1", version=version, site=site, status="activated")


# --- CurveClient ---------------------------------------------------------------------------


def test_request_returns_the_reply(
    control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    client = make_client(control_plane.server.endpoint)
    beat = Heartbeat(site="site-1", seq=3, sent_at=time.time())

    reply = client.request(beat, timeout=5.0)

    assert reply == HeartbeatAck(seq=3, id=reply.id, reply_to=beat.id)
    assert client.connected.is_set()
    assert not client.refused.is_set()


def test_concurrent_requests_each_get_their_own_reply(
    control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    client = make_client(control_plane.server.endpoint)
    replies: dict[int, WireMessage] = {}

    def ask(seq: int) -> None:
        replies[seq] = client.request(Heartbeat(site="site-1", seq=seq, sent_at=1.0), timeout=5)

    threads = [threading.Thread(target=ask, args=(seq,)) for seq in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {seq: getattr(reply, "seq", None) for seq, reply in replies.items()} == {
        seq: seq for seq in range(8)
    }


def test_a_request_nobody_answers_times_out(
    control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    control_plane.server.on(DecisionReport, lambda site, report: None)
    client = make_client(control_plane.server.endpoint)

    with pytest.raises(RequestTimeout, match=r"did not answer the decisions\.report message"):
        client.request(DecisionReport(decision_id="d1", site="site-1", risk="low"), timeout=0.3)


def test_pushed_messages_reach_their_handler_and_its_ack_reaches_the_server(
    control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    client = make_client(control_plane.server.endpoint, site="site-7")
    offers: list[ModelOffer] = []
    client.on(ModelOffer, lambda offer: offers.append(offer) or Ack())
    client.request(Heartbeat(site="site-7", seq=1, sent_at=1.0), timeout=5)
    offer = ModelOffer(rollout_id="r-2", version=9, bundle_digest="c" * 64, size=5, chunk_size=5)

    assert control_plane.server.send("site-7", offer)

    assert eventually(lambda: len(control_plane.acks) == 1)
    assert offers == [offer]
    assert control_plane.acks[0].reply_to == offer.id


def test_a_push_without_a_handler_is_answered_unsupported(
    control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    errors: list[ErrorReply] = []
    control_plane.server.on(ErrorReply, lambda site, error: errors.append(error))
    client = make_client(control_plane.server.endpoint)
    client.request(Heartbeat(site="site-1", seq=1, sent_at=1.0), timeout=5)
    order = RollbackOrder(
        rollout_id="r-1", site="site-1", from_version=2, to_version=1, reason="x", issued_at=1.0
    )

    control_plane.server.send("site-1", order)

    assert eventually(lambda: len(errors) == 1)
    assert errors[0].code == ErrorCode.UNSUPPORTED
    assert errors[0].reply_to == order.id


def test_an_unknown_key_is_told_plainly_it_was_refused(
    control_plane: ControlPlane,
    make_client: Callable[..., CurveClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="edge_agent.transport")
    client = make_client(control_plane.server.endpoint, site=None)

    assert client.refused.wait(5.0)
    assert not client.connected.is_set()
    assert REFUSED_SENTENCE in caplog.text
    assert caplog.text.count(REFUSED_SENTENCE) == 1  # once, not at every redial
    with pytest.raises(AgentRefused, match="not enrolled or was revoked"):
        client.request(Heartbeat(site="site-1", seq=1, sent_at=1.0), timeout=1.0)
    assert control_plane.server.stats().received == 0


def test_an_agent_revoked_while_connected_is_told_plainly_at_its_next_message(
    control_plane: ControlPlane,
    fleet: Fleet,
    make_client: Callable[..., CurveClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="edge_agent.transport")
    client = make_client(control_plane.server.endpoint, site="site-6")
    assert isinstance(client.request(Heartbeat(site="site-6", seq=1, sent_at=1.0)), HeartbeatAck)
    del fleet.sites[client.public_key]  # revoked, without restarting anything
    time.sleep(1.1)  # past the server's one-second admission cache
    client.send(Heartbeat(site="site-6", seq=2, sent_at=2.0))

    assert client.refused.wait(5.0)
    assert "no longer admitted: it was revoked" in caplog.text
    assert REFUSED_SENTENCE in caplog.text


def test_an_agent_enrolled_after_a_refusal_gets_through_without_a_restart(
    control_plane: ControlPlane, fleet: Fleet, make_client: Callable[..., CurveClient]
) -> None:
    client = make_client(control_plane.server.endpoint, site=None)
    assert client.refused.wait(5.0)

    fleet.sites[client.public_key] = "site-5"

    assert client.connected.wait(5.0)
    assert not client.refused.is_set()
    reply = client.request(Heartbeat(site="site-5", seq=1, sent_at=1.0), timeout=5)
    assert isinstance(reply, HeartbeatAck)


def test_on_connected_runs_after_each_handshake(
    control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    client = make_client(control_plane.server.endpoint, start=False)
    greeted = threading.Event()
    replies: list[WireMessage] = []

    def greet() -> None:  # runs in the dispatch thread, so it may call request()
        replies.append(client.request(Heartbeat(site="site-1", seq=0, sent_at=1.0), timeout=5))
        greeted.set()

    client.on_connected(greet)
    client.start()
    try:
        assert greeted.wait(5.0)
        assert isinstance(replies[0], HeartbeatAck)
    finally:
        client.stop()


def test_a_client_pinning_the_wrong_server_key_says_so(
    control_plane: ControlPlane, fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    keys, impostor = new_keys(), new_keys()
    fleet.sites[keys.public] = "site-1"
    client = CurveClient(
        endpoint=control_plane.server.endpoint,
        server_public_key=impostor.public,
        public_key=keys.public,
        secret_key=keys.secret,
        reconnect_ivl_ms=50,
    )
    client.start()
    try:
        assert eventually(lambda: "current public key" in caplog.text)
        assert not client.connected.is_set()
        assert not client.refused.is_set()
    finally:
        client.stop()


def test_bad_settings_and_unstarted_clients_fail_with_a_sentence(server_keys: Keys) -> None:
    keys = new_keys()
    client = CurveClient(
        endpoint="nonsense", server_public_key=server_keys.public, public_key=keys.public,
        secret_key=keys.secret,
    )  # fmt: skip

    with pytest.raises(TransportError, match="not running"):
        client.request(Heartbeat(site="site-1", seq=1, sent_at=1.0), timeout=0.1)
    with pytest.raises(TransportError, match="cannot set up the connection to nonsense"):
        client.start()


# --- Outbox --------------------------------------------------------------------------------


@dataclass
class OfflineLink:
    """A link that is never connected: what an agent without network looks like."""

    connected: threading.Event = field(default_factory=threading.Event)
    sent: list[WireMessage] = field(default_factory=list)

    def send(self, message: WireMessage, **_: object) -> None:
        self.sent.append(message)


def test_put_is_durable_and_survives_a_restart(tmp_path: Path) -> None:
    store = AgentStore.open(tmp_path)
    outbox = Outbox(store, OfflineLink())
    first, second = result(version=2), result(version=3)
    outbox.put(first)
    outbox.put(second)
    outbox.put(first)  # the same message again is stored once
    store.close()

    reopened = AgentStore.open(tmp_path)
    try:
        entries = Outbox(reopened, OfflineLink()).entries()
    finally:
        reopened.close()

    assert [entry.id for entry in entries] == [first.id, second.id]
    assert {entry.type for entry in entries} == {"rollout.activation_result"}


def test_an_offline_outbox_sends_nothing_and_put_does_not_block(tmp_path: Path) -> None:
    store = AgentStore.open(tmp_path)
    link = OfflineLink()
    outbox = Outbox(store, link)
    outbox.start()
    try:
        started = time.monotonic()
        for version in range(2, 22):
            outbox.put(result(version=version))
        elapsed = time.monotonic() - started
        time.sleep(0.2)
        assert link.sent == []
        assert outbox.backlog() == 20
        assert elapsed < 2.0
    finally:
        outbox.stop()
        store.close()


def test_an_online_put_sends_at_once_but_never_ahead_of_older_messages(tmp_path: Path) -> None:
    store = AgentStore.open(tmp_path)
    link = OfflineLink()
    outbox = Outbox(store, link)  # no forwarder running: only put() itself can send
    try:
        waiting = result(version=2)
        outbox.put(waiting)
        link.connected.set()
        outbox.put(result(version=3))
        assert link.sent == []  # version 2 waits for the forwarder; 3 must not overtake it
        outbox.forward_once()
        assert [m.id for m in link.sent] == [waiting.id, outbox.entries()[1].id]
        link.sent.clear()
        fresh = result(version=4)
        outbox.put(fresh)
        assert link.sent == [fresh]
        outbox.forward_once()
        assert link.sent == [fresh]  # not sent twice before its answer is due
    finally:
        store.close()


def test_the_outbox_drains_when_the_control_plane_comes_up_later(
    tmp_path: Path,
    server_keys: Keys,
    fleet: Fleet,
    make_client: Callable[..., CurveClient],
) -> None:
    endpoint = free_endpoint()
    client = make_client(endpoint)  # no server yet: store and forward
    store = AgentStore.open(tmp_path)
    outbox = Outbox(store, client, resend_after_s=5.0)
    outbox.start()
    messages = [result(version=version) for version in range(2, 12)]
    for message in messages:
        outbox.put(message)
    time.sleep(0.3)
    assert outbox.backlog() == 10
    plane = ControlPlane(server_keys, fleet, bind=endpoint)
    plane.server.start()
    try:
        assert eventually(lambda: outbox.backlog() == 0, timeout=10.0)
        assert {key[1] for key in plane.results} == set(range(2, 12))
    finally:
        outbox.stop()
        plane.server.stop()
        store.close()


def test_the_outbox_resends_until_acknowledged_and_duplicates_are_harmless(
    tmp_path: Path, control_plane: ControlPlane, make_client: Callable[..., CurveClient]
) -> None:
    control_plane.ignore_first = 2  # the first two deliveries go unanswered
    client = make_client(control_plane.server.endpoint)
    store = AgentStore.open(tmp_path)
    outbox = Outbox(store, client, resend_after_s=0.2)
    outbox.start()
    message = result(version=4)
    try:
        outbox.put(message)

        assert eventually(lambda: outbox.backlog() == 0)
        assert control_plane.deliveries == [message.id] * 3
        assert list(control_plane.results.values()) == [message]
    finally:
        outbox.stop()
        store.close()


def test_a_message_the_control_plane_refuses_for_good_is_dropped_and_logged(
    tmp_path: Path,
    control_plane: ControlPlane,
    make_client: Callable[..., CurveClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(control_plane.server.endpoint)
    store = AgentStore.open(tmp_path)
    outbox = Outbox(store, client, resend_after_s=0.2)
    outbox.start()
    try:
        outbox.put(DecisionReport(decision_id="d-9", site="site-1", risk="low"))  # unhandled

        assert eventually(lambda: outbox.backlog() == 0)
        assert "refused outbox message" in caplog.text
        assert "unsupported" in caplog.text
    finally:
        outbox.stop()
        store.close()
