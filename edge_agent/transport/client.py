"""The agent's ZeroMQ client: a CURVE DEALER that pins the control plane's key.

Threading: an I/O thread owns the DEALER and its monitor socket; it sends what other threads
queue, routes replies to their waiters and hands pushed messages to a dispatch thread, which
runs the handlers (so a handler may itself call `request()`). ZeroMQ reconnects after a lost
connection on its own, backing off from `reconnect_ivl_ms` to `reconnect_ivl_max_ms` with its
own jitter. A handshake the control plane refuses is different: libzmq gives up on that
connection, so the client sets `refused`, logs that the key is not enrolled or was revoked,
and dials again after a jittered backoff, so an agent enrolled later gets through.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import zmq
from zmq.utils.monitor import recv_monitor_message

from edge_agent.transport.errors import AgentRefused, RequestTimeout, TransportError
from edge_agent.transport.link_state import MONITORED_EVENTS, LinkChange, LinkState
from edge_agent.transport.pending import OnReply, PendingReplies, ReplyWaiter
from edgeward.backoff import Backoff
from edgeward.errors import EdgewardError
from edgeward.waker import Waker
from edgeward.wire import (
    MAX_CHUNK_BYTES,
    MAX_HEADER_BYTES,
    ErrorCode,
    ErrorReply,
    WireError,
    WireMessage,
    decode,
    encode,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=WireMessage)
PushHandler = Callable[[M], WireMessage | None]
"""Handle a message pushed by the control plane; return the reply (e.g. an `Ack`) or None."""

_BURST = 256
_HEARTBEAT_IVL_MS = 10_000
_HEARTBEAT_TIMEOUT_MS = 30_000


class CurveClient:
    """Talk to the control plane at `endpoint`; keys are Z85 (40 bytes).

    `public_key` is this agent's own key, the one the control plane enrols.

    `connected` is set while a CURVE session is up; `refused` once the control plane refused
    this agent's key, until a later handshake succeeds.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        server_public_key: bytes,
        public_key: bytes,
        secret_key: bytes,
        reconnect_ivl_ms: int = 250,
        reconnect_ivl_max_ms: int = 30_000,
        redial_backoff: Backoff | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._link = LinkState(endpoint=endpoint, backoff=redial_backoff or Backoff(1.0, 60.0))
        self.connected = self._link.connected
        self.refused = self._link.refused
        self.public_key = public_key
        self._server_key = server_public_key
        self._secret_key = secret_key
        self._reconnect = (reconnect_ivl_ms, reconnect_ivl_max_ms)
        self._handlers: dict[type[WireMessage], Callable[[Any], WireMessage | None]] = {}
        self._connect_callbacks: list[Callable[[], None]] = []
        self._pending = PendingReplies()
        self._outgoing: queue.SimpleQueue[list[bytes]] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._waker: Waker | None = None
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._io_thread: threading.Thread | None = None
        self._dispatch_thread: threading.Thread | None = None

    def on(self, message_type: type[M], handler: PushHandler[M]) -> None:
        """Call `handler(message)` for each pushed `message_type` (register before start)."""
        self._handlers[message_type] = handler

    def on_connected(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after every successful handshake (say hello, flush an outbox)."""
        self._connect_callbacks.append(callback)

    def start(self) -> None:
        """Create the socket, connect (in the background) and start the threads."""
        if self._io_thread is not None:
            raise TransportError("the control-plane client is already running")
        self._stop.clear()
        self._context = zmq.Context()
        try:
            dealer, monitor = self._open_sockets(self._context)
        except (zmq.ZMQError, ValueError) as err:
            self._context.term()
            self._context = None
            raise TransportError(
                f"cannot set up the connection to {self.endpoint}: {err} "
                "(is it a ZeroMQ endpoint, and are the CURVE keys 40-character Z85 strings?)"
            ) from err
        self._waker = waker = Waker()
        self._io_thread = threading.Thread(
            target=self._run, args=(dealer, monitor, waker), name="curve-client-io", daemon=True
        )
        self._dispatch_thread = threading.Thread(
            target=self._dispatch, name="curve-client-dispatch", daemon=True
        )
        self._dispatch_thread.start()
        self._io_thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection (unsent messages are dropped) and stop the threads."""
        self._stop.set()
        if self._io_thread is not None and self._waker is not None:
            self._waker.wake()
            self._io_thread.join(timeout)
        self._io_thread = None
        self._pending.fail_all(TransportError("the control-plane client was stopped"))
        if self._dispatch_thread is not None:
            self._jobs.put(None)
            self._dispatch_thread.join(timeout)
            self._dispatch_thread = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None
        if self._context is not None:
            self._context.term()
            self._context = None
        self.connected.clear()

    def send(
        self,
        message: WireMessage,
        *,
        on_reply: OnReply | None = None,
        reply_timeout_s: float = 30.0,
    ) -> None:
        """Queue `message` for the control plane; never blocks on the network.

        `on_reply(reply)` runs in the I/O thread if a reply arrives within `reply_timeout_s`:
        it must be quick and must not call `request()`.
        """
        frames = encode(message)
        if on_reply is not None:
            self._pending.expect(message.id, on_reply, timeout_s=reply_timeout_s)
        self._enqueue(frames)

    def request(self, message: WireMessage, timeout: float = 10.0) -> WireMessage:
        """Send `message` and return the control plane's reply (an `ErrorReply` included).

        Raises `AgentRefused` if the control plane refuses this agent's key, and
        `RequestTimeout` if no reply comes within `timeout` seconds.
        """
        if self._io_thread is threading.current_thread():
            raise TransportError("request() cannot run in the I/O thread; use send(on_reply=)")
        if self.refused.is_set():
            raise AgentRefused()
        frames = encode(message)
        waiter = ReplyWaiter()
        self._pending.expect(
            message.id, waiter.set_reply, timeout_s=timeout + 1.0, on_failure=waiter.set_error
        )
        try:
            self._enqueue(frames)
        except TransportError:
            self._pending.forget(message.id)
            raise
        reply = waiter.wait(timeout)
        if reply is None:
            self._pending.forget(message.id)
            raise RequestTimeout(
                f"the control plane did not answer the {message.type} message within {timeout:g} s"
            )
        return reply

    def _enqueue(self, frames: list[bytes]) -> None:
        waker = self._waker
        if waker is None or self._stop.is_set():
            raise TransportError("the control-plane client is not running")
        self._outgoing.put(frames)
        waker.wake()

    def _open_sockets(
        self, context: zmq.Context[zmq.Socket[bytes]]
    ) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes]]:
        """Return the configured, connecting DEALER and its monitor socket."""
        dealer = context.socket(zmq.DEALER)
        try:
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.setsockopt(zmq.CURVE_SERVERKEY, self._server_key)
            dealer.setsockopt(zmq.CURVE_PUBLICKEY, self.public_key)
            dealer.setsockopt(zmq.CURVE_SECRETKEY, self._secret_key)
            dealer.setsockopt(zmq.RECONNECT_IVL, self._reconnect[0])
            dealer.setsockopt(zmq.RECONNECT_IVL_MAX, self._reconnect[1])
            dealer.setsockopt(zmq.HEARTBEAT_IVL, _HEARTBEAT_IVL_MS)
            dealer.setsockopt(zmq.HEARTBEAT_TIMEOUT, _HEARTBEAT_TIMEOUT_MS)
            dealer.setsockopt(zmq.MAXMSGSIZE, MAX_CHUNK_BYTES + MAX_HEADER_BYTES)
            monitor = dealer.get_monitor_socket(MONITORED_EVENTS)
        except BaseException:
            dealer.close(linger=0)
            raise
        try:
            dealer.connect(self.endpoint)
        except BaseException:
            dealer.disable_monitor()
            monitor.close(linger=0)
            dealer.close(linger=0)
            raise
        return dealer, monitor

    def _run(self, dealer: zmq.Socket[bytes], monitor: zmq.Socket[bytes], waker: Waker) -> None:
        poller = zmq.Poller()
        for watched in (dealer, monitor, waker.fileno()):
            poller.register(watched, zmq.POLLIN)
        redial_at: float | None = None
        next_sweep = time.monotonic() + 1.0
        try:
            while not self._stop.is_set():
                wait_s = 0.5 if redial_at is None else redial_at - time.monotonic()
                ready = dict(poller.poll(max(0, min(500, int(wait_s * 1000)))))
                if waker.fileno() in ready:
                    waker.drain()
                self._flush_outgoing(dealer)
                if monitor in ready:
                    redial_at = self._read_monitor(monitor, redial_at)
                if dealer in ready:
                    self._receive_burst(dealer)
                    self._flush_outgoing(dealer)
                now = time.monotonic()
                if redial_at is not None and now >= redial_at:
                    redial_at = None
                    self._redial(dealer)
                if now >= next_sweep:
                    self._pending.expire()
                    next_sweep = now + 1.0
        except Exception:
            log.exception("the control-plane client's I/O loop failed; the agent is offline")
        finally:
            self.connected.clear()
            with contextlib.suppress(zmq.ZMQError):
                dealer.disable_monitor()
            monitor.close(linger=0)
            dealer.close(linger=0)

    def _flush_outgoing(self, dealer: zmq.Socket[bytes]) -> None:
        while True:
            try:
                frames = self._outgoing.get_nowait()
            except queue.Empty:
                return
            try:
                dealer.send_multipart(frames, zmq.NOBLOCK)
            except zmq.Again:
                log.warning("the send queue to the control plane is full; a message was dropped")

    def _read_monitor(self, monitor: zmq.Socket[bytes], redial_at: float | None) -> float | None:
        while monitor.poll(0):
            change = self._link.on_event(int(recv_monitor_message(monitor)["event"]))
            if change is LinkChange.UP:
                redial_at = None
                for callback in self._connect_callbacks:
                    self._jobs.put(callback)
            elif change is LinkChange.REFUSED:
                self._pending.fail_all(AgentRefused())
                redial_at = time.monotonic() + self._link.redial_delay()
        return redial_at

    def _redial(self, dealer: zmq.Socket[bytes]) -> None:
        # libzmq abandons a connection whose handshake was refused; dial it again.
        with contextlib.suppress(zmq.ZMQError):
            dealer.disconnect(self.endpoint)
        dealer.connect(self.endpoint)

    def _receive_burst(self, dealer: zmq.Socket[bytes]) -> None:
        for _ in range(_BURST):
            try:
                frames = dealer.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                message = decode(frames)
            except WireError as err:
                log.warning("the control plane sent a message this agent cannot read: %s", err)
                continue
            if (
                isinstance(message, ErrorReply)
                and message.code == ErrorCode.REJECTED
                and message.reply_to is None
                and "no longer admitted" in message.detail
            ):
                # Cut off mid-session: redial, so that the refused handshake says it plainly.
                log.warning("the control plane says: %s", message.detail)
                self._redial(dealer)
                continue
            if self._pending.resolve(message):
                continue
            handler = self._handlers.get(type(message))
            if handler is not None:
                self._jobs.put(functools.partial(self._handle, handler, message))
            elif message.reply_to is None:
                detail = f"this agent does not handle {message.type} messages"
                reply = ErrorReply(reply_to=message.id, code=ErrorCode.UNSUPPORTED, detail=detail)
                self._outgoing.put(encode(reply))
            else:
                log.debug("a %s reply arrived after its request gave up", message.type)

    def _handle(self, handler: Callable[[Any], WireMessage | None], message: WireMessage) -> None:
        reply: WireMessage | None
        try:
            reply = handler(message)
        except EdgewardError as err:
            log.warning("refused the pushed %s message: %s", message.type, err)
            reply = ErrorReply(code=ErrorCode.REJECTED, detail=str(err))
        except Exception:
            log.exception("handling the pushed %s message failed", message.type)
            reply = ErrorReply(code=ErrorCode.INTERNAL, detail="the agent failed to handle it")
        if reply is None or (message.reply_to is not None and isinstance(reply, ErrorReply)):
            return
        try:
            self.send(reply.answering(message))
        except TransportError as err:
            log.warning("could not answer the pushed %s message: %s", message.type, err)

    def _dispatch(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("a control-plane client callback failed")
