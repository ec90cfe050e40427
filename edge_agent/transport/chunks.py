"""Fetch an offered bundle in chunks, several requests in flight, resumable from a `.part` file.

Credit-based flow, as in ZeroMQ's file-transfer pattern: the agent keeps up to `window`
`FetchChunk` requests outstanding and asks for the next chunk as each one arrives, so it never
waits a round trip (through a control plane busy serving the whole wave) between chunks, and it
never has more than `window` chunks queued on the control plane for it. Chunks are appended to
the `.part` file strictly in order (one that arrives early waits in memory), so whatever is on
disk is always a prefix of the bundle and a later attempt resumes at its end.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Protocol

from edge_agent.transport.errors import AgentRefused, RequestTimeout, TransportError
from edge_agent.transport.pending import OnReply
from edgeward.wire import BundleChunk, FetchChunk, ModelOffer, WireMessage

FETCH_WINDOW = 4
"""Chunk requests in flight per agent: enough to hide a round trip, bounded memory."""


class ChunkRefused(TransportError):
    """The control plane answered a chunk request with something other than that chunk."""


class ChunkLink(Protocol):
    """What fetching needs of a connection (`CurveClient` is one)."""

    refused: threading.Event

    def send(
        self, message: WireMessage, *, on_reply: OnReply | None = ..., reply_timeout_s: float = ...
    ) -> None:
        """Queue `message`; call `on_reply` (in the I/O thread) with its reply."""


def fetch_bundle(
    link: ChunkLink,
    offer: ModelOffer,
    part: Path,
    *,
    window: int = FETCH_WINDOW,
    timeout_s: float = 20.0,
) -> None:
    """Append the offered bundle's missing bytes to `part` until it holds `offer.size` bytes.

    Raises `RequestTimeout` when no chunk arrives for `timeout_s`, `AgentRefused` when the
    control plane refuses this agent, and `ChunkRefused` when it answers with anything but the
    chunk asked for (an `ErrorReply` for a version it no longer has, say).
    """
    replies: queue.SimpleQueue[WireMessage] = queue.SimpleQueue()
    with part.open("ab") as sink:
        written = sink.tell()
        asked = written
        in_flight: dict[int, int] = {}  # offset -> length asked for
        early: dict[int, bytes] = {}  # chunks that overtook an earlier one
        while written < offer.size:
            while len(in_flight) < window and asked < offer.size:
                if link.refused.is_set():
                    raise AgentRefused()
                length = min(offer.chunk_size, offer.size - asked)
                request = FetchChunk(version=offer.version, offset=asked, length=length)
                link.send(request, on_reply=replies.put, reply_timeout_s=timeout_s)
                in_flight[asked] = length
                asked += length
            chunk = _next_reply(replies, offer, timeout_s)
            if in_flight.pop(chunk.offset, None) != len(chunk.data):
                raise ChunkRefused(
                    f"the control plane sent bytes {chunk.offset}..{chunk.offset + len(chunk.data)}"
                    f" of version {offer.version}, which this agent did not ask for"
                )
            early[chunk.offset] = chunk.data
            while written in early:
                data = early.pop(written)
                sink.write(data)
                written += len(data)
            sink.flush()


def _next_reply(
    replies: queue.SimpleQueue[WireMessage], offer: ModelOffer, timeout_s: float
) -> BundleChunk:
    try:
        reply = replies.get(timeout=timeout_s)
    except queue.Empty:
        raise RequestTimeout(
            f"the control plane sent no chunk of version {offer.version} for {timeout_s:g} s"
        ) from None
    if not isinstance(reply, BundleChunk) or reply.version != offer.version:
        raise ChunkRefused(f"the control plane did not send version {offer.version}: {reply}")
    return reply
