"""The control plane's ZeroMQ server: a CURVE ROUTER that only enrolled agents can talk to.

Threading: one receive thread owns the ROUTER socket; it decodes each message, dispatches it
to the handler registered for its type and sends the reply, one message at a time (handlers
should be quick or hand work off). The ZAP handler runs in pyzmq's authenticator thread.
`send()` may be called from any thread: it queues the frames and wakes the receive thread.

Identity comes from the handshake, never from the message: ZAP records the client's public
key as the connection's User-Id, and every message is attributed to the site `admit` returns
for that key, re-asked at most once a second, so a revoked key stops being served without a
restart.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import zmq
from zmq.auth.thread import ThreadAuthenticator

from control_plane.transport.admission import AdmissionCache, Admit
from control_plane.transport.errors import TransportError
from control_plane.transport.stats import ServerCounters, ServerStats
from control_plane.transport.zap import ZAP_DOMAIN, start_authenticator
from edgeward.errors import EdgewardError
from edgeward.waker import Waker
from edgeward.wire import ErrorCode, ErrorReply, WireError, WireMessage, decode, encode

log = logging.getLogger(__name__)

M = TypeVar("M", bound=WireMessage)
Handler = Callable[[str, M], WireMessage | None]
"""Handle a message from an authenticated site; return the reply, or None for no reply."""

REVOKED_DETAIL = "this agent's key is no longer admitted: it was revoked"
MAX_FRAME_BYTES = 2 * 1024 * 1024
"""Inbound frames larger than this make libzmq drop the connection."""
_BURST = 256
_HEARTBEAT_IVL_MS = 10_000
_HEARTBEAT_TIMEOUT_MS = 30_000


@dataclass(kw_only=True, slots=True, frozen=True)
class _Route:
    """Where a site's messages last came from: its ROUTER routing id and public key."""

    routing_id: bytes
    key: bytes


class CurveServer:
    """Serve agents over a CURVE ROUTER: dispatch by message type, push to sites by name.

    `bind` is a ZeroMQ endpoint such as "tcp://0.0.0.0:7400" ("tcp://127.0.0.1:*" picks a
    free port; `endpoint` says which after `start()`). Keys are Z85 (40 bytes).
    """

    def __init__(
        self,
        *,
        bind: str,
        public_key: bytes,
        secret_key: bytes,
        admit: Admit,
        domain: str = ZAP_DOMAIN,
        admit_ttl_s: float = 1.0,
    ) -> None:
        self._bind = bind
        self._public_key = public_key
        self._secret_key = secret_key
        self._domain = domain
        self._admission = AdmissionCache(admit, ttl_s=admit_ttl_s)
        self._handlers: dict[type[WireMessage], Callable[[str, Any], WireMessage | None]] = {}
        self._routes: dict[str, _Route] = {}
        self._routes_lock = threading.Lock()
        self._outgoing: queue.SimpleQueue[tuple[bytes, list[bytes]]] = queue.SimpleQueue()
        self._refused_keys: set[bytes] = set()
        self._newly_refused = False
        self._counters = ServerCounters()
        self._stop = threading.Event()
        self._waker: Waker | None = None
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._authenticator: ThreadAuthenticator | None = None
        self._thread: threading.Thread | None = None
        self._endpoint: str | None = None

    @property
    def endpoint(self) -> str:
        """Return the endpoint actually bound (with the real port), once started."""
        if self._endpoint is None:
            raise TransportError("the ZeroMQ server is not running")
        return self._endpoint

    def on(self, message_type: type[M], handler: Handler[M]) -> None:
        """Call `handler(site, message)` for each `message_type` received (register first)."""
        self._handlers[message_type] = handler

    def start(self) -> None:
        """Start the ZAP handler, bind the ROUTER and start the receive thread."""
        if self._thread is not None:
            raise TransportError("the ZeroMQ server is already running")
        self._stop.clear()
        self._context = zmq.Context()
        self._authenticator = start_authenticator(
            self._context, self._admission, domain=self._domain
        )
        try:
            router = self._bound_router(self._context)
        except (zmq.ZMQError, ValueError) as err:
            self._shutdown_context()
            raise TransportError(f"cannot listen for agents on {self._bind}: {err}") from err
        self._endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        self._waker = waker = Waker()
        self._thread = threading.Thread(
            target=self._run, args=(router, waker), name="curve-server", daemon=True
        )
        self._thread.start()
        log.info("listening for agents on %s (CURVE, ZAP domain %s)", self._endpoint, self._domain)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop receiving, close the socket and the ZAP handler."""
        self._stop.set()
        if self._thread is not None:
            if self._waker is not None:
                self._waker.wake()
            self._thread.join(timeout)
            self._thread = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None
        self._shutdown_context()
        self._endpoint = None

    def send(self, site: str, message: WireMessage) -> bool:
        """Push `message` to `site`; return False if the site is not connected or not admitted.

        True means queued for the site's last known connection; delivery is not confirmed
        (handlers see the agent's `Ack`, for messages that call for one). A site's connection
        is learnt from its messages, so agents greet the server after every (re)connection.
        Raises `TransportError` if the server is not running.
        """
        with self._routes_lock:
            route = self._routes.get(site)
        if route is None or self._admission.site_for(route.key) != site:
            return False
        if self._waker is None:
            raise TransportError("the ZeroMQ server is not running")
        self._outgoing.put((route.routing_id, encode(message)))
        self._waker.wake()
        return True

    def stats(self) -> ServerStats:
        """Return the counters and handling-time percentiles so far."""
        return self._counters.snapshot()

    def _bound_router(self, context: zmq.Context[zmq.Socket[bytes]]) -> zmq.Socket[bytes]:
        router = context.socket(zmq.ROUTER)
        try:
            router.setsockopt(zmq.LINGER, 0)
            router.setsockopt(zmq.CURVE_SERVER, 1)
            router.setsockopt(zmq.CURVE_PUBLICKEY, self._public_key)
            router.setsockopt(zmq.CURVE_SECRETKEY, self._secret_key)
            router.setsockopt(zmq.ZAP_DOMAIN, self._domain.encode("utf-8"))
            router.setsockopt(zmq.ROUTER_MANDATORY, 1)
            router.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
            router.setsockopt(zmq.HEARTBEAT_IVL, _HEARTBEAT_IVL_MS)
            router.setsockopt(zmq.HEARTBEAT_TIMEOUT, _HEARTBEAT_TIMEOUT_MS)
            router.bind(self._bind)
        except BaseException:
            router.close(linger=0)
            raise
        return router

    def _shutdown_context(self) -> None:
        if self._authenticator is not None:
            self._authenticator.stop()
            self._authenticator = None
        if self._context is not None:
            self._context.term()
            self._context = None

    def _run(self, router: zmq.Socket[bytes], waker: Waker) -> None:
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(waker.fileno(), zmq.POLLIN)
        try:
            while not self._stop.is_set():
                ready = dict(poller.poll(500))
                if waker.fileno() in ready:
                    waker.drain()
                self._flush_outgoing(router)
                if router in ready:
                    self._receive_burst(router)
        except Exception:
            log.exception("the ZeroMQ server's receive loop failed; agents are not served")
        finally:
            router.close(linger=0)

    def _flush_outgoing(self, router: zmq.Socket[bytes]) -> None:
        while True:
            try:
                routing_id, frames = self._outgoing.get_nowait()
            except queue.Empty:
                return
            if self._send_frames(router, routing_id, frames):
                self._counters.add("pushed")
            else:
                self._counters.add("push_failures")

    def _receive_burst(self, router: zmq.Socket[bytes]) -> None:
        for _ in range(_BURST):
            try:
                frames = router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            started = time.perf_counter()
            self._counters.add("received")
            if self._handle(router, frames):
                self._counters.record_handling(time.perf_counter() - started)

    def _handle(self, router: zmq.Socket[bytes], frames: list[zmq.Frame]) -> bool:
        """Handle one message; return whether it was answered or dispatched (timed)."""
        routing_id, body = frames[0].bytes, frames[1:]
        key = _peer_key(body[0] if body else frames[0])
        site = self._admitted_site(key)
        if site is None:
            self._counters.add("dropped_unadmitted")
            if self._newly_refused:
                # Tell a peer cut off mid-session why, once: otherwise it hears only silence
                # until it reconnects and the handshake itself is refused.
                self._reply(
                    router, routing_id, ErrorReply(code=ErrorCode.REJECTED, detail=REVOKED_DETAIL)
                )
            return False
        try:
            message = decode([frame.bytes for frame in body])
        except WireError as err:
            self._counters.add("errors")
            log.warning("site %s sent a message that cannot be read: %s", site, err)
            self._reply(router, routing_id, _error(err.message_id, ErrorCode.BAD_MESSAGE, err))
            return True
        self._remember_route(site, _Route(routing_id=routing_id, key=key))
        reply = self._dispatch(site, message)
        if reply is not None:
            self._reply(router, routing_id, reply.answering(message))
        return True

    def _admitted_site(self, key: bytes) -> str | None:
        site = self._admission.site_for(key) if key else None
        self._newly_refused = False
        if site is None:
            if key not in self._refused_keys:
                self._refused_keys.add(key)
                self._newly_refused = True
                log.warning(
                    "ignoring messages from key %s: it is no longer enrolled or was revoked",
                    key[:8].decode("ascii", "replace"),
                )
            return None
        self._refused_keys.discard(key)
        return site

    def _remember_route(self, site: str, route: _Route) -> None:
        with self._routes_lock:
            if self._routes.get(site) != route:
                self._routes[site] = route

    def _dispatch(self, site: str, message: WireMessage) -> WireMessage | None:
        claimed = getattr(message, "site", None)
        if claimed is not None and claimed != site:
            self._counters.add("site_mismatches")
            self._counters.add("errors")
            log.warning("site %s sent a %s claiming to be %s", site, message.type, claimed)
            detail = f"this connection is authenticated as site {site}, not {claimed}"
            return ErrorReply(code=ErrorCode.SITE_MISMATCH, detail=detail)
        handler = self._handlers.get(type(message))
        if handler is None:
            if message.reply_to is not None:
                log.debug("no handler for the %s reply from %s; ignored", message.type, site)
                return None
            self._counters.add("errors")
            detail = f"the control plane does not handle {message.type} messages"
            return ErrorReply(code=ErrorCode.UNSUPPORTED, detail=detail)
        self._counters.add("handled")
        try:
            return handler(site, message)
        except EdgewardError as err:
            self._counters.add("errors")
            return ErrorReply(code=ErrorCode.REJECTED, detail=str(err))
        except Exception:
            self._counters.add("errors")
            log.exception("handling a %s message from site %s failed", message.type, site)
            detail = "the control plane failed to handle this message; it may be sent again"
            return ErrorReply(code=ErrorCode.INTERNAL, detail=detail)

    def _reply(self, router: zmq.Socket[bytes], routing_id: bytes, reply: WireMessage) -> None:
        try:
            frames = encode(reply)
        except WireError as err:
            log.error("cannot encode the %s reply: %s", reply.type, err)
            frames = encode(_error(reply.reply_to, ErrorCode.INTERNAL, err))
        if self._send_frames(router, routing_id, frames):
            self._counters.add("replied")

    def _send_frames(
        self, router: zmq.Socket[bytes], routing_id: bytes, frames: list[bytes]
    ) -> bool:
        try:
            router.send_multipart([routing_id, *frames], zmq.NOBLOCK)
        except zmq.ZMQError as err:
            # EHOSTUNREACH: the connection is gone; EAGAIN: the agent is not reading.
            log.warning("dropped a message for a disconnected or slow agent: %s", err.strerror)
            return False
        return True


def _peer_key(frame: zmq.Frame) -> bytes:
    """Return the Z85 public key ZAP recorded as the connection's User-Id (b"" if none)."""
    try:
        user_id = frame.get("User-Id")
    except zmq.ZMQError:
        return b""
    return user_id.encode("ascii") if isinstance(user_id, str) else b""


def _error(reply_to: str | None, code: ErrorCode, err: Exception) -> ErrorReply:
    return ErrorReply(reply_to=reply_to, code=code, detail=str(err))
