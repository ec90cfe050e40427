"""Wake a thread blocked in `zmq.Poller.poll` from any other thread."""

from __future__ import annotations

import contextlib
import socket


class Waker:
    """A socket pair whose read end a poller watches; `wake()` makes it readable.

    Lets other threads hand work to the thread that owns a ZeroMQ socket (sockets are not
    thread-safe) without sharing a ZeroMQ socket between threads.
    """

    def __init__(self) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)

    def fileno(self) -> int:
        """Return the descriptor to register with a poller."""
        return self._read.fileno()

    def wake(self) -> None:
        """Make the read end readable (a full buffer means it already is)."""
        with contextlib.suppress(OSError):
            self._write.send(b"\0")

    def drain(self) -> None:
        """Consume every pending wake-up."""
        with contextlib.suppress(OSError):
            while self._read.recv(4096):
                pass

    def close(self) -> None:
        """Close both ends."""
        self._read.close()
        self._write.close()
