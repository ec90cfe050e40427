"""Many agents in one process, for benchmarks: real sockets and keys, light on memory.

Modes (run as `python swarm.py MODE ...`, prints one JSON line when done):

- `protocol ROOT FIRST N`: agents FIRST..FIRST+N-1, each enrolled from
  ROOT/bundles/site-XXX.bundle into its own data folder, each with the real ControlLink (CURVE
  socket, outbox, resumable fetch, verification, activation). Prints when they are connected,
  then serves until stdin closes, then prints each agent's `DeliveryTimes` (wall clock).
- `raw ENDPOINT FIRST N ROOT`: N plain DEALER sockets (no CURVE, no protocol) that write
  whatever the ROUTER sends to a file, flush it to disk and answer "done".
- `heartbeat ROOT N SECONDS`: N CURVE DEALER sockets in one thread, each sending a Heartbeat a
  second; prints how many were sent and acknowledged.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import zmq  # noqa: E402

from certs import parse_curve_certificate, read_enrollment_bundle  # noqa: E402
from edge_agent.control_link import ControlLink  # noqa: E402
from edge_agent.enrollment import enroll_device, load_identity  # noqa: E402
from edge_agent.inference import LiveQuality  # noqa: E402
from edge_agent.model_store import ModelStore  # noqa: E402
from edge_agent.store import AgentStore  # noqa: E402
from edge_agent.torch_threads import limit_torch_threads  # noqa: E402
from edgeward.schema import load_schema  # noqa: E402
from edgeward.wire import Heartbeat, HeartbeatAck, decode, encode  # noqa: E402


def protocol(root: Path, first: int, count: int) -> None:
    """Run `count` real agent links, numbered from `first`, until stdin closes."""
    limit_torch_threads()  # as the agent daemon does
    schema_hash = load_schema().content_hash
    links = []
    for index in range(first, first + count):
        site = f"site-{index:03d}"
        data_dir = root / "agents" / site
        enroll_device(root / "bundles" / f"{site}.bundle", data_dir)
        store = AgentStore.open(data_dir)
        store.register_schema(load_schema())
        models = ModelStore(data_dir)
        link = ControlLink(
            identity=load_identity(data_dir),
            store=store,
            models=models,
            quality=LiveQuality(store, models),
            schema_hash=schema_hash,
            heartbeat_interval_s=3600.0,
            health=dict,
        )
        link.start()
        links.append(link)
    for link in links:
        link.client.connected.wait(30)
    print(
        json.dumps({"connected": sum(link.client.connected.is_set() for link in links)}), flush=True
    )
    sys.stdin.read()
    for link in links:
        link.stop()
    times = [asdict(link.last_delivery) for link in links if link.last_delivery is not None]
    print(json.dumps({"deliveries": times}), flush=True)


def raw(endpoint: str, first: int, count: int, root: Path) -> None:
    """Receive one payload per socket, write it to a file, answer done."""
    context = zmq.Context()

    def one(index: int) -> None:
        dealer = context.socket(zmq.DEALER)
        dealer.connect(endpoint)
        dealer.send(b"ready")
        payload = dealer.recv()
        path = root / f"raw-{index}.bin"
        with path.open("wb") as sink:
            sink.write(payload)
            sink.flush()
            os.fsync(sink.fileno())
        dealer.send(b"done")
        dealer.close(linger=1000)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(first, first + count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    context.term()
    print(json.dumps({"received": count}), flush=True)


def heartbeat(root: Path, count: int, seconds: float) -> None:
    """Heartbeat once a second from `count` enrolled keys; count acknowledgements."""
    context = zmq.Context()
    sockets = []
    for index in range(count):
        contents = read_enrollment_bundle(root / "bundles" / f"site-{index:03d}.bundle")
        manifest = contents.manifest
        public, secret = parse_curve_certificate(
            contents.files["curve.key_secret"], source="bundle"
        )
        socket = context.socket(zmq.DEALER)
        socket.curve_secretkey = secret or b""
        socket.curve_publickey = public
        socket.curve_serverkey = manifest.control_plane_curve_public_key
        socket.connect(manifest.control_plane_address)
        sockets.append((f"site-{index:03d}", socket))
    poller = zmq.Poller()
    for _, socket in sockets:
        poller.register(socket, zmq.POLLIN)
    sent = acked = 0
    seq = 0
    started = time.monotonic()
    next_beat = started
    deadline = started + seconds
    while time.monotonic() < deadline + 3.0:
        now = time.monotonic()
        if now >= next_beat and now < deadline:
            seq += 1
            for site, socket in sockets:
                socket.send_multipart(encode(Heartbeat(site=site, seq=seq, sent_at=time.time())))
                sent += 1
            next_beat += 1.0
        for socket, _ in poller.poll(50):
            while socket.poll(0):
                if isinstance(decode(socket.recv_multipart()), HeartbeatAck):
                    acked += 1
    for _, socket in sockets:
        socket.close(linger=0)
    context.term()
    print(json.dumps({"sent": sent, "acked": acked}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "protocol":
        protocol(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "raw":
        raw(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
    else:
        heartbeat(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
