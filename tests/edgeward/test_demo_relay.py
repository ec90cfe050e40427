"""The demo's cuttable link: a TCP relay that forwards, severs and restores."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from edgeward.demo.relay import LinkRelay, Upstream


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield int(server.getsockname()[1])
    stop.set()
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(1024):
                conn.sendall(data)
        except OSError:
            return


def _round_trip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.settimeout(5)
        sock.sendall(payload)
        return _read(sock, len(payload))


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def _refused(port: int) -> bool:
    try:
        sock = socket.create_connection(("127.0.0.1", port), 5)
    except OSError:
        return True  # reset before connect() returned
    with sock:
        sock.settimeout(5)
        return _closed(sock)


def test_a_relay_forwards_both_ways(echo: int) -> None:
    relay = LinkRelay("site-1 mqtt", Upstream(host="127.0.0.1", port=echo)).start()
    try:
        assert _round_trip(relay.port, b"hello " * 1000) == b"hello " * 1000
    finally:
        relay.stop()


def test_severing_drops_open_connections_and_refuses_new_ones_until_restored(echo: int) -> None:
    relay = LinkRelay("site-1 control", Upstream(host="127.0.0.1", port=echo)).start()
    try:
        with socket.create_connection(("127.0.0.1", relay.port), 5) as open_conn:
            open_conn.settimeout(5)
            open_conn.sendall(b"ping")
            assert _read(open_conn, 4) == b"ping"
            relay.sever()
            assert relay.severed
            assert _closed(open_conn)
        assert _refused(relay.port)
        assert relay.cuts >= 2
        relay.restore()
        assert _round_trip(relay.port, b"back") == b"back"
    finally:
        relay.stop()


def test_a_dead_upstream_resets_the_client_instead_of_hanging() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        dead_port = int(spare.getsockname()[1])  # bound, never listening: refused
        relay = LinkRelay("site-2 control", Upstream(host="127.0.0.1", port=dead_port)).start()
        try:
            assert _refused(relay.port)
        finally:
            relay.stop()
