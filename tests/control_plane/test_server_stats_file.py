"""The server's counters reach a file in the state folder, readable from another process."""

from __future__ import annotations

from pathlib import Path

import zmq

from certs import init_pki, issue_device, parse_curve_certificate, read_enrollment_bundle
from control_plane.server_stats_file import SERVER_STATS_FILE, read_server_stats
from control_plane.service import ControlPlane
from control_plane.settings import ControlSettings
from edgeward.wire import Heartbeat, HeartbeatAck, decode, encode
from tests.support.curve import eventually

SITE = "site-stats"


def _heartbeat_once(endpoint: str, bundle: Path) -> None:
    files = read_enrollment_bundle(bundle).files
    public, secret = parse_curve_certificate(files["curve.key_secret"], source="device")
    server, _ = parse_curve_certificate(files["control-plane.curve.key"], source="server")
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        socket = context.socket(zmq.DEALER)
        socket.linger = 0
        socket.curve_serverkey = server
        socket.curve_publickey = public
        socket.curve_secretkey = secret or b""
        socket.connect(endpoint)
        socket.send_multipart(encode(Heartbeat(site=SITE, seq=1, sent_at=0.0)))
        assert socket.poll(5000)
        assert isinstance(decode(socket.recv_multipart()), HeartbeatAck)
    finally:
        context.destroy(linger=0)


def test_a_stopped_control_plane_leaves_its_final_counts(tmp_path: Path) -> None:
    pki = init_pki(tmp_path / "pki", control_plane_address="tcp://127.0.0.1:9")
    issue_device(pki, SITE, out=tmp_path / "device.bundle")
    settings = ControlSettings(
        state_dir=tmp_path / "state",
        registry_dir=tmp_path / "registry",
        pki_dir=tmp_path / "pki",
        bind="tcp://127.0.0.1:*",
    )
    plane = ControlPlane(settings)
    plane.start()
    try:
        # Written as soon as it serves, so a watcher knows it is up.
        assert eventually(lambda: read_server_stats(settings.state_dir) is not None)
        _heartbeat_once(plane.server.endpoint, tmp_path / "device.bundle")
    finally:
        plane.stop()
    stats = read_server_stats(settings.state_dir)
    assert stats is not None
    assert stats["handled"] == 1
    assert stats["errors"] == 0
    assert stats["handling_p99_ms"] > 0
    assert not [p for p in settings.state_dir.iterdir() if p.name.endswith(".tmp")]


def test_no_file_reads_as_no_snapshot(tmp_path: Path) -> None:
    assert read_server_stats(tmp_path) is None
    assert not (tmp_path / SERVER_STATS_FILE).exists()
