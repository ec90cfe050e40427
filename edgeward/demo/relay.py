"""A TCP relay in front of an upstream port, whose link can be cut and restored.

Cutting a site's link takes no root: under `--chaos` the site's control-plane (ZeroMQ) and
MQTT traffic goes through one relay each. `sever()` drops every relayed connection and
refuses new ones (the connection is accepted and closed at once, as a dead uplink's
middlebox would reset it); `restore()` lets them through again. Both ends see what a real
outage shows them: a reset connection and failed reconnects until the link is back.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
ACCEPT_POLL_S = 0.5


@dataclass(kw_only=True, slots=True, frozen=True)
class Upstream:
    """Where the relay forwards to."""

    host: str
    port: int


class LinkRelay:
    """Forward connections from 127.0.0.1:<port> to `upstream`, until severed."""

    def __init__(self, name: str, upstream: Upstream) -> None:
        self.name = name
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(ACCEPT_POLL_S)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._severed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"relay-{name}", daemon=True)
        self.cuts = 0
        """How many connections the relay dropped or refused while severed."""

    @property
    def severed(self) -> bool:
        """Return whether the link is cut now."""
        return self._severed

    def start(self) -> LinkRelay:
        """Start accepting connections."""
        self._thread.start()
        return self

    def sever(self) -> None:
        """Cut the link: drop every relayed connection and refuse new ones."""
        with self._lock:
            self._severed = True
            dropped = list(self._open)
            self._open.clear()
            self.cuts += len(dropped)
        for sock in dropped:
            _close(sock)
        log.info("relay %s severed (%d connections dropped)", self.name, len(dropped))

    def restore(self) -> None:
        """Let connections through again."""
        with self._lock:
            self._severed = False
        log.info("relay %s restored", self.name)

    def stop(self) -> None:
        """Stop accepting and close every connection."""
        self._stop.set()
        self.sever()
        self._thread.join(5)
        _close(self._listener)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            if self._severed:
                with self._lock:
                    self.cuts += 1
                _reset(client)
                continue
            threading.Thread(
                target=self._connect, args=(client,), name=f"relay-{self.name}", daemon=True
            ).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection((self.upstream.host, self.upstream.port), 10)
        except OSError:
            _reset(client)  # the upstream is down (restarting): the client retries
            return
        server.settimeout(None)
        client.settimeout(None)
        with self._lock:
            if self._severed:
                _reset(client)
                _close(server)
                return
            self._open.update((client, server))
        for source, sink in ((client, server), (server, client)):
            threading.Thread(
                target=self._pump, args=(source, sink), name=f"relay-{self.name}", daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes one way until either side closes; then close both."""
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
        except OSError:
            pass  # reset or severed: both sides are closed below
        with self._lock:
            self._open.discard(source)
            self._open.discard(sink)
        _close(source)
        _close(sink)


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a dropped link shows it to the peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
