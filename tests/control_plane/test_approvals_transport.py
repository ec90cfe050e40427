"""Approvals over the real link: the control plane service, CURVE, a device enrolled by `certs`.

The agent is a bare CURVE DEALER (see test_transport.py) holding the keys of a real enrollment
bundle, so that every frame it sends and receives is visible to the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from certs import init_pki, issue_device, parse_curve_certificate, read_enrollment_bundle
from control_plane.service import ControlPlane
from control_plane.settings import ControlSettings
from edgeward.wire import (
    Ack,
    ApprovalVerdict,
    ErrorCode,
    ErrorReply,
    Hello,
    HelloAck,
    WireMessage,
    decode,
    encode,
)
from tests.control_plane.test_approvals import SITE, approval_request
from tests.support.curve import eventually


class Agent:
    """A CURVE DEALER with an enrolled device's keys, speaking the wire format."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str, bundle: Path):
        files = read_enrollment_bundle(bundle).files
        public, secret = parse_curve_certificate(files["curve.key_secret"], source="device")
        server, _ = parse_curve_certificate(files["control-plane.curve.key"], source="server")
        assert secret is not None
        self.socket = context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.curve_serverkey = server
        self.socket.curve_publickey = public
        self.socket.curve_secretkey = secret
        self.socket.connect(endpoint)

    def send(self, message: WireMessage) -> None:
        self.socket.send_multipart(encode(message))

    def receive(self, timeout: float = 5.0) -> WireMessage | None:
        if not self.socket.poll(int(timeout * 1000)):
            return None
        return decode(self.socket.recv_multipart())

    def request(self, message: WireMessage) -> WireMessage | None:
        self.send(message)
        return self.receive()


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    pki = init_pki(tmp_path / "pki", control_plane_address="tcp://127.0.0.1:9")
    issue_device(pki, SITE, out=tmp_path / "device.bundle")
    settings = ControlSettings(
        state_dir=tmp_path / "state",
        registry_dir=tmp_path / "registry",
        pki_dir=tmp_path / "pki",
        bind="tcp://127.0.0.1:*",
        tick_interval_s=0.05,
    )
    running = ControlPlane(settings)
    running.approvals.delivery.resend_after_s = 0.3
    running.start()
    yield running
    running.stop()


@pytest.fixture
def agent(tmp_path: Path, plane: ControlPlane) -> Iterator[Agent]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    connected = Agent(context, plane.server.endpoint, tmp_path / "device.bundle")
    hello = Hello(site=SITE, agent_version="test", schema_hash="f" * 64)
    assert isinstance(connected.request(hello), HelloAck)
    yield connected
    context.destroy(linger=0)


def test_a_verdict_reaches_the_agent_and_stops_once_acknowledged(
    plane: ControlPlane, agent: Agent
) -> None:
    request = approval_request(expires_at=4_000_000_000.0)
    reply = agent.request(request)
    assert isinstance(reply, Ack)
    assert reply.reply_to == request.id
    assert [a.decision_id for a in plane.approvals.pending()] == ["d-1"]

    plane.approvals.approve("d-1", actor="alice", comment="fine by me")

    verdict = agent.receive()
    assert isinstance(verdict, ApprovalVerdict)
    assert (verdict.decision_id, verdict.approved) == ("d-1", True)
    assert verdict.payload["actor"] == "alice"
    resent = agent.receive()  # not acknowledged yet: pushed again, with the same id
    assert isinstance(resent, ApprovalVerdict)
    assert resent.id == verdict.id

    agent.send(Ack().answering(verdict))

    def delivered() -> bool:
        approval = plane.approvals.get("d-1")
        return approval is not None and approval.verdict_delivered_at is not None

    assert eventually(delivered)
    leftover = agent.receive(timeout=0.1)  # a resend may have crossed the Ack
    assert leftover is None or (isinstance(leftover, ApprovalVerdict) and leftover.id == verdict.id)
    assert agent.receive(timeout=1.5) is None  # five resend intervals of silence
    hello = Hello(site=SITE, agent_version="test", schema_hash="f" * 64)
    assert isinstance(agent.request(hello), HelloAck)
    assert agent.receive(timeout=0.5) is None  # not on reconnection either


def test_a_malformed_request_gets_an_error_reply_and_the_link_goes_on(
    plane: ControlPlane, agent: Agent
) -> None:
    bad = approval_request(expires_at="soon")

    reply = agent.request(bad)

    assert isinstance(reply, ErrorReply)
    assert reply.code == ErrorCode.REJECTED
    assert reply.reply_to == bad.id
    assert "payload.expires_at: Input should be a valid number" in reply.detail
    assert isinstance(agent.request(approval_request()), Ack)
