"""Agents for the load benchmark: many light protocol speakers and a few real agent links.

Modes (run as `python load_swarm.py MODE ROOT FIRST N HEARTBEAT_S DECISION_S`); each serves
until its stdin closes, then waits for what is still unanswered and prints one JSON line:

- `light`: N enrolled sites in one thread, each a CURVE DEALER with its own key speaking
  the wire protocol: a hello, a heartbeat every HEARTBEAT_S (health and live quality), a
  decision report every DECISION_S (every tenth decision is high risk: an approval request
  and a `held` report). In a rollout each acknowledges the offer, fetches the bundle chunk by
  chunk, checks the digest of the manifest it holds and reports the activation; it neither
  verifies the signature nor smoke-tests (the real agents do), so a light site costs the
  control plane what a real one does and the load generator far less. Counts what it sent
  and what was answered, with round trips.
- `full`: N real `ControlLink` agents (CURVE socket, outbox, resumable fetch, verification,
  activation), heartbeating every HEARTBEAT_S, with a decision report put in each one's real
  outbox every DECISION_S. Prints `{"connected": n}` once connected; at the end, what they
  sent and what their outboxes still hold.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import zmq  # noqa: E402

from benchmarks.support.load_figures import Tally, percentile  # noqa: E402
from benchmarks.support.load_messages import archive_digest, decision_message  # noqa: E402
from certs import parse_curve_certificate, read_enrollment_bundle  # noqa: E402
from edgeward.wire import (  # noqa: E402
    Ack,
    ActivationResult,
    ActivationStatus,
    ApprovalRequest,
    ApprovalVerdict,
    BundleChunk,
    DecisionReport,
    ErrorReply,
    FetchChunk,
    Heartbeat,
    Hello,
    ModelOffer,
    RollbackOrder,
    WireMessage,
    decode,
    encode,
)

KINDS: Final = ("hello", "heartbeat", "decision_report", "approval_request", "fetch", "activation")
"""What a light agent sends and expects an answer to."""
GRACE_S: Final = 20.0
"""How long to wait for answers after stdin closes before counting the rest as lost."""


def kind_of(message: WireMessage) -> str:
    """Return the tally a message sent by a light agent counts under."""
    kinds: dict[type[WireMessage], str] = {
        Hello: "hello",
        Heartbeat: "heartbeat",
        DecisionReport: "decision_report",
        ApprovalRequest: "approval_request",
        FetchChunk: "fetch",
        ActivationResult: "activation",
    }
    return kinds[type(message)]


@dataclass(slots=True)
class LightAgent:
    """One light site: its socket, its schedule and what it runs."""

    site: str
    socket: zmq.Socket[bytes]
    next_heartbeat: float
    next_decision: float
    live_mae: float
    seq: int = 0
    decisions: int = 0
    active_version: int | None = None
    offer: ModelOffer | None = None
    fetched: bytearray = field(default_factory=bytearray)


class LightSwarm:
    """Drive light agents from one thread: send what is due, answer what arrives."""

    def __init__(self, agents: list[LightAgent], *, heartbeat_s: float, decision_s: float) -> None:
        self.agents = agents
        self.heartbeat_s = heartbeat_s
        self.decision_s = decision_s
        self.tallies = {kind: Tally() for kind in KINDS}
        self.pushed: Counter[str] = Counter()
        # How late heartbeats leave: seconds here mean the generator, not the server, lagged.
        self.lateness: list[float] = []
        self.errors: Counter[str] = Counter()
        self._waiting: dict[str, tuple[str, float, bool]] = {}
        # Heartbeat round trips while no agent here is fetching a bundle: the steady state.
        self.steady_round_trips: list[float] = []
        self._started = time.time()

    def send(self, agent: LightAgent, message: WireMessage) -> None:
        """Send a message that calls for an answer, and remember when."""
        kind = kind_of(message)
        agent.socket.send_multipart(encode(message))
        steady = not any(a.offer for a in self.agents) if kind == "heartbeat" else False
        self._waiting[message.id] = (kind, time.monotonic(), steady)
        self.tallies[kind].sent += 1

    def run(self, stop: int) -> None:
        """Serve until the file descriptor `stop` is readable (EOF), then drain answers."""
        by_socket = {agent.socket: agent for agent in self.agents}
        poller = zmq.Poller()
        for agent in self.agents:
            poller.register(agent.socket, zmq.POLLIN)
            self.send(agent, self._hello(agent))
        poller.register(stop, zmq.POLLIN)
        sending, deadline = True, float("inf")
        while time.monotonic() < deadline and (sending or self._waiting):
            if sending:
                self._send_due(time.monotonic())
            for socket, _ in poller.poll(20):
                if socket == stop:
                    sending, deadline = False, time.monotonic() + GRACE_S
                    poller.unregister(stop)
                    continue
                agent = by_socket[socket]
                while agent.socket.poll(0):
                    self._receive(agent, decode(agent.socket.recv_multipart()))

    def report(self) -> dict[str, object]:
        """Return what was sent and answered, by kind."""
        return {
            "agents": len(self.agents),
            **{kind: tally.summary() for kind, tally in self.tallies.items()},
            "pushed": dict(self.pushed),
            "errors": dict(self.errors),
            "send_lateness_p99_ms": round(percentile(self.lateness, 0.99) * 1000, 2),
            "steady_heartbeat_rtt_p99_ms": round(
                percentile(self.steady_round_trips, 0.99) * 1000, 2
            ),
            "active_versions": dict(Counter(str(a.active_version) for a in self.agents)),
        }

    def _hello(self, agent: LightAgent) -> Hello:
        return Hello(
            site=agent.site, agent_version="load-light", active_version=None, schema_hash="-"
        )

    def _send_due(self, now: float) -> None:
        for agent in self.agents:
            if now >= agent.next_heartbeat:
                self.lateness.append(now - agent.next_heartbeat)
                agent.next_heartbeat += self.heartbeat_s
                agent.seq += 1
                self.send(agent, self._heartbeat(agent))
            if now >= agent.next_decision:
                agent.next_decision += self.decision_s
                agent.decisions += 1
                for message in decision_message(
                    agent.site, agent.decisions, model_version=agent.active_version, at=time.time()
                ):
                    self.send(agent, message)

    def _heartbeat(self, agent: LightAgent) -> Heartbeat:
        return Heartbeat(
            site=agent.site,
            seq=agent.seq,
            sent_at=time.time(),
            active_version=agent.active_version,
            health={
                "uptime_s": time.time() - self._started,
                "ingest_rate": 12.0,
                "quarantine_rate": 0.001,
                "outbox_backlog": 0.0,
            },
            # The same error on every model: the rollout must pass on its merits, not luck.
            quality={"live_mae": agent.live_mae, "samples": 100.0, "alarm_rate": 0.01},
        )

    def _receive(self, agent: LightAgent, message: WireMessage) -> None:
        waiting = self._waiting.pop(message.reply_to, None) if message.reply_to else None
        if waiting is not None:
            kind, sent_at, steady = waiting
            tally = self.tallies[kind]
            if isinstance(message, ErrorReply):
                tally.refused += 1
                self.errors[f"{kind}: {message.code}"] += 1
                return
            tally.answered += 1
            tally.round_trips.append(time.monotonic() - sent_at)
            if steady:
                self.steady_round_trips.append(time.monotonic() - sent_at)
            if isinstance(message, BundleChunk):
                self._take_chunk(agent, message)
            return
        if isinstance(message, ModelOffer):
            self._take_offer(agent, message)
        elif isinstance(message, RollbackOrder):
            self._take_rollback(agent, message)
        elif isinstance(message, ApprovalVerdict):
            self.pushed["verdict"] += 1
            agent.socket.send_multipart(encode(Ack(ok=True).answering(message)))
        else:
            self.errors[f"unexpected {message.type}"] += 1

    def _take_offer(self, agent: LightAgent, offer: ModelOffer) -> None:
        self.pushed["offer"] += 1
        agent.socket.send_multipart(encode(Ack(ok=True).answering(offer)))
        if agent.active_version == offer.version:
            self._activated(agent, offer, "activated", "already active")
        elif agent.offer is None or agent.offer.version != offer.version:
            agent.offer, agent.fetched = offer, bytearray()
            self._fetch_next(agent, offer)
        # else: a resent offer while fetching; the fetch goes on

    def _fetch_next(self, agent: LightAgent, offer: ModelOffer) -> None:
        offset = len(agent.fetched)
        length = min(offer.chunk_size, offer.size - offset)
        self.send(agent, FetchChunk(version=offer.version, offset=offset, length=length))

    def _take_chunk(self, agent: LightAgent, chunk: BundleChunk) -> None:
        offer = agent.offer
        if offer is None or chunk.version != offer.version or chunk.offset != len(agent.fetched):
            self.errors["chunk out of order"] += 1
            return
        agent.fetched += chunk.data
        if not chunk.eof:
            self._fetch_next(agent, offer)
            return
        intact = archive_digest(bytes(agent.fetched)) == offer.bundle_digest
        agent.offer, agent.fetched = None, bytearray()
        if intact:
            agent.active_version = offer.version
            self._activated(agent, offer, "activated", "digest checked (light agent)")
        else:
            self._activated(agent, offer, "failed", "the bundle's digest does not match")

    def _activated(
        self, agent: LightAgent, offer: ModelOffer, status: ActivationStatus, detail: str
    ) -> None:
        result = ActivationResult(
            rollout_id=offer.rollout_id,
            version=offer.version,
            site=agent.site,
            status=status,
            detail=detail,
            smoke={"latency_ms": 1.0},
        )
        self.send(agent, result)

    def _take_rollback(self, agent: LightAgent, order: RollbackOrder) -> None:
        self.pushed["rollback"] += 1
        agent.socket.send_multipart(encode(Ack(ok=True).answering(order)))
        agent.active_version = order.to_version
        result = ActivationResult(
            rollout_id=order.rollout_id,
            version=order.from_version,
            site=agent.site,
            status="rolled_back",
            detail=order.reason[:4000],
        )
        self.send(agent, result)


def light_agents(
    context: zmq.Context[zmq.Socket[bytes]],
    root: Path,
    sites: range,
    *,
    heartbeat_s: float,
    decision_s: float,
) -> list[LightAgent]:
    """Connect one CURVE DEALER per enrolled site, with schedules spread over the interval.

    Spreading the phases is what a real fleet looks like: agents start at different times.
    """
    agents = []
    now = time.monotonic()
    for position, index in enumerate(sites):
        site = f"site-{index:03d}"
        contents = read_enrollment_bundle(root / "bundles" / f"{site}.bundle")
        public, secret = parse_curve_certificate(
            contents.files["curve.key_secret"], source="bundle"
        )
        socket = context.socket(zmq.DEALER)
        socket.curve_secretkey = secret or b""
        socket.curve_publickey = public
        socket.curve_serverkey = contents.manifest.control_plane_curve_public_key
        socket.linger = 0
        socket.connect(contents.manifest.control_plane_address)
        share = position / max(1, len(sites))
        agents.append(
            LightAgent(
                site=site,
                socket=socket,
                next_heartbeat=now + share * heartbeat_s,
                next_decision=now + 2.0 + share * decision_s,
                live_mae=0.05 + 0.0001 * index,
            )
        )
    return agents


def light(root: Path, first: int, count: int, heartbeat_s: float, decision_s: float) -> None:
    """Run light agents until stdin closes; print their tallies."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    agents = light_agents(
        context,
        root,
        range(first, first + count),
        heartbeat_s=heartbeat_s,
        decision_s=decision_s,
    )
    swarm = LightSwarm(agents, heartbeat_s=heartbeat_s, decision_s=decision_s)
    swarm.run(sys.stdin.fileno())
    for agent in agents:
        agent.socket.close()
    context.term()
    print(json.dumps(swarm.report()), flush=True)


if __name__ == "__main__":
    mode, root_arg, first_arg, count_arg, heartbeat_arg, decision_arg = sys.argv[1:7]
    arguments = (Path(root_arg), int(first_arg), int(count_arg))
    if mode == "light":
        light(*arguments, float(heartbeat_arg), float(decision_arg))
    else:
        from benchmarks.support.load_links import full  # the real agent stack: only here

        full(*arguments, float(heartbeat_arg), float(decision_arg))
