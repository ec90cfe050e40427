"""Session messages: an agent says hello when it connects and sends heartbeats after that.

Idempotency: `Hello` only refreshes what the control plane knows of a site (its route,
versions, schema), so a repeated hello changes nothing more. A `Heartbeat` is identified by
(`site`, `seq`): the control plane records a sequence number once and acknowledges a
duplicate again without recording it twice. `seq` restarts at 0 when the agent restarts, so
the pair (`site`, `sent_at`) tells a restart apart from a duplicate.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgeward.wire.base import Readings, SiteName, Version, WireMessage


class Hello(WireMessage):
    """Introduce an agent: who it is, what it runs, and the schema its data follows.

    Sent on every (re)connection; the control plane answers with a `HelloAck`.
    """

    type: Literal["session.hello"] = "session.hello"
    site: SiteName
    agent_version: str = Field(min_length=1, max_length=64)
    active_version: Version | None = None
    previous_version: Version | None = None
    schema_hash: str = Field(min_length=1, max_length=256)


class HelloAck(WireMessage):
    """Answer a `Hello`: the control plane's clock and how often to send heartbeats."""

    type: Literal["session.hello_ack"] = "session.hello_ack"
    server_time: float
    heartbeat_interval_s: float = Field(gt=0)


class Heartbeat(WireMessage):
    """Report a site's health and the live quality of its active model.

    `health` holds uptime_s, ingest_rate, quarantine_rate, outbox_backlog, ...; `quality`
    holds live_mae, alarm_rate, inference_p50_ms, inference_p95_ms, failures, samples, ...
    A metric with no value yet (no samples) is left out rather than sent as NaN.
    """

    type: Literal["session.heartbeat"] = "session.heartbeat"
    site: SiteName
    seq: int = Field(ge=0)
    sent_at: float
    active_version: Version | None = None
    health: Readings = Field(default_factory=dict)
    quality: Readings = Field(default_factory=dict)


class HeartbeatAck(WireMessage):
    """Acknowledge the heartbeat with this sequence number."""

    type: Literal["session.heartbeat_ack"] = "session.heartbeat_ack"
    seq: int = Field(ge=0)
