"""Fetching a bundle in chunks: pipelined, in order on disk, resumable, refusals say why."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from edge_agent.transport import RequestTimeout
from edge_agent.transport.chunks import ChunkRefused, fetch_bundle
from edge_agent.transport.pending import OnReply
from edgeward.wire import BundleChunk, ErrorCode, ErrorReply, FetchChunk, ModelOffer, WireMessage

BUNDLE = os.urandom(10_000)


class Link:
    """Serves chunks of BUNDLE from a thread, holding replies back until `release` is set."""

    def __init__(self, *, hold: bool = False, reverse: bool = False) -> None:
        self.refused = threading.Event()
        self.requests: list[FetchChunk] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self._reverse = reverse
        self._lock = threading.Lock()
        self._waiting: list[tuple[FetchChunk, OnReply]] = []

    def send(
        self, message: WireMessage, *, on_reply: OnReply | None = None, reply_timeout_s: float = 0
    ) -> None:
        assert isinstance(message, FetchChunk)
        assert on_reply is not None
        with self._lock:
            self.requests.append(message)
            self._waiting.append((message, on_reply))
        threading.Thread(target=self._answer).start()

    def _answer(self) -> None:
        self.release.wait(5)
        with self._lock:
            waiting, self._waiting = self._waiting, []
        for request, on_reply in reversed(waiting) if self._reverse else waiting:
            on_reply(self.reply(request))

    def reply(self, request: FetchChunk) -> WireMessage:
        data = BUNDLE[request.offset : request.offset + request.length]
        end = request.offset + len(data)
        return BundleChunk(
            version=request.version,
            offset=request.offset,
            total_size=len(BUNDLE),
            eof=end == len(BUNDLE),
            data=data,
        ).answering(request)


def offer(chunk_size: int = 1000) -> ModelOffer:
    return ModelOffer(
        rollout_id="r-1", version=3, bundle_digest="a" * 64, size=len(BUNDLE), chunk_size=chunk_size
    )


def test_several_chunk_requests_are_in_flight_before_the_first_reply(tmp_path: Path) -> None:
    link = Link(hold=True)
    fetching = threading.Thread(
        target=fetch_bundle, args=(link, offer(), tmp_path / "3.part"), kwargs={"window": 4}
    )
    fetching.start()
    deadline = time.monotonic() + 5
    while len(link.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.offset for r in link.requests] == [0, 1000, 2000, 3000]
    link.release.set()
    fetching.join(5)
    assert (tmp_path / "3.part").read_bytes() == BUNDLE


def test_chunks_arriving_out_of_order_are_written_in_order(tmp_path: Path) -> None:
    fetch_bundle(Link(reverse=True), offer(), tmp_path / "3.part", window=5)
    assert (tmp_path / "3.part").read_bytes() == BUNDLE


def test_a_partial_download_resumes_at_its_end(tmp_path: Path) -> None:
    part = tmp_path / "3.part"
    part.write_bytes(BUNDLE[:2500])
    link = Link()
    fetch_bundle(link, offer(), part)
    assert link.requests[0].offset == 2500
    assert part.read_bytes() == BUNDLE


def test_an_error_instead_of_a_chunk_is_refused_with_its_reason(tmp_path: Path) -> None:
    link = Link()
    link.reply = lambda request: ErrorReply(  # type: ignore[method-assign]
        code=ErrorCode.REJECTED, detail="there is no version 3"
    ).answering(request)
    with pytest.raises(ChunkRefused, match="there is no version 3"):
        fetch_bundle(link, offer(), tmp_path / "3.part")


def test_silence_times_out(tmp_path: Path) -> None:
    link = Link(hold=True)
    with pytest.raises(RequestTimeout, match=r"no chunk of version 3 for 0\.2 s"):
        fetch_bundle(link, offer(), tmp_path / "3.part", timeout_s=0.2)
    link.release.set()
