"""Wire messages: every type round-trips, and decode refuses bad frames with WireError only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from edgeward.errors import EdgewardError
from edgeward.wire import (
    MAX_CHUNK_BYTES,
    MAX_HEADER_BYTES,
    MESSAGE_TYPES,
    Ack,
    ActivationResult,
    ApprovalRequest,
    ApprovalVerdict,
    BundleChunk,
    DecisionReport,
    ErrorCode,
    ErrorReply,
    FetchChunk,
    Heartbeat,
    HeartbeatAck,
    Hello,
    HelloAck,
    ModelOffer,
    RollbackOrder,
    WireError,
    WireMessage,
    decode,
    encode,
    rollback_order_bytes,
    sign_rollback_order,
    verify_rollback_order,
)

DIGEST = "ab" * 32

SAMPLES: list[WireMessage] = [
    Hello(
        site="site-1",
        agent_version="0.1.0",
        active_version=3,
        previous_version=2,
        schema_hash="f" * 64,
    ),
    HelloAck(server_time=1_796_300_000.5, heartbeat_interval_s=15.0),
    Heartbeat(
        site="site-1",
        seq=7,
        sent_at=1_796_300_001.25,
        active_version=3,
        health={"uptime_s": 3600.0, "ingest_rate": 12.5, "outbox_backlog": 0},
        quality={"live_mae": 0.42, "inference_p95_ms": 3.1, "samples": 120},
    ),
    HeartbeatAck(seq=7),
    ModelOffer(
        rollout_id="r-12",
        version=4,
        bundle_digest=DIGEST,
        size=1_000_000,
        chunk_size=262_144,
        reason="canary wave 1",
    ),
    FetchChunk(version=4, offset=262_144, length=262_144),
    BundleChunk(version=4, offset=10, total_size=16, eof=True, data=b"\x00\xff\x10abc"),
    ActivationResult(
        rollout_id="r-12",
        version=4,
        site="site-1",
        status="activated",
        detail="",
        smoke={"latency_ms": 2.5, "mae": 0.4},
    ),
    RollbackOrder(
        rollout_id="r-12",
        site="site-1",
        from_version=4,
        to_version=3,
        reason="live MAE regressed by 18 %",
        issued_at=1_796_300_100.0,
    ),
    DecisionReport(
        decision_id="d-1",
        site="site-1",
        risk="medium",
        payload={"action": "offload", "cell": "c7", "scores": [0.1, 0.9], "note": None},
    ),
    ApprovalRequest(decision_id="d-2", site="site-1", risk="high", payload={"action": "sleep"}),
    ApprovalVerdict(decision_id="d-2", site="site-1", risk="high", approved=False),
    Ack(reply_to="0123abcd", ok=True, detail="recorded"),
    ErrorReply(reply_to="0123abcd", code=ErrorCode.SITE_MISMATCH, detail="not you"),
]


def _header(message: WireMessage) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode(message)[0])
    return document


def test_samples_cover_every_message_type() -> None:
    assert {m.type for m in SAMPLES} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.type)
def test_every_message_round_trips(message: WireMessage) -> None:
    decoded = decode(encode(message))

    assert decoded == message
    assert type(decoded) is type(message)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.type)
def test_every_message_has_type_version_and_id(message: WireMessage) -> None:
    header = _header(message)

    assert header["type"] == message.type
    assert header["v"] == 1
    assert len(header["id"]) == 32
    assert "reply_to" in header


def test_ids_are_unique_per_message() -> None:
    ids = {HeartbeatAck(seq=1).id for _ in range(1000)}

    assert len(ids) == 1000


def test_a_bundle_chunk_travels_as_raw_bytes_in_a_second_frame() -> None:
    data = bytes(range(256)) * 4
    chunk = BundleChunk(version=2, offset=0, total_size=len(data), eof=True, data=data)

    frames = encode(chunk)

    assert len(frames) == 2
    assert frames[1] == data
    assert "data" not in json.loads(frames[0])


def test_other_messages_are_one_frame() -> None:
    assert len(encode(HeartbeatAck(seq=1))) == 1


def test_answering_sets_reply_to_the_request_id() -> None:
    request = FetchChunk(version=1, offset=0, length=10)

    reply = Ack().answering(request)

    assert reply.reply_to == request.id
    assert Ack(reply_to="other").answering(request).reply_to == "other"


def test_wire_error_is_an_edgeward_error() -> None:
    assert issubclass(WireError, EdgewardError)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        ([b'{"type": "models.teleport", "v": 1, "id": "a"}'], "unknown message type"),
        ([b'{"v": 1, "id": "a"}'], "has no message type"),
        ([b'{"type": "ack", "v": 2, "id": "a"}'], "schema version 2; this side reads 1"),
        ([b'{"type": "ack", "id": "a"}'], "has no schema version"),
        ([b'{"type": "ack", "v": "1", "id": "a"}'], "has no schema version"),
        ([b'{"type": "ack", "v": true, "id": "a"}'], "has no schema version"),
        ([b'{"type": "ack", "v": 1,'], "not valid UTF-8 JSON"),
        ([b"\xff\xfe"], "not valid UTF-8 JSON"),
        ([b'{"type": "ack", "v": 1, "detail": NaN}'], "not valid UTF-8 JSON"),
        ([b"[1, 2]"], "must be a JSON object"),
        ([b'{"type": "session.heartbeat_ack", "v": 1}'], r"invalid: seq: Field required"),
        ([b'{"type": "session.heartbeat_ack", "v": 1, "seq": "3"}'], "seq: Input should be"),
        ([b'{"type": "session.heartbeat_ack", "v": 1, "seq": -1}'], "seq: Input should be"),
        ([b'{"type": "session.heartbeat_ack", "v": 1, "seq": 1}', b"x"], "has no payload"),
        ([b'{"type": "models.bundle_chunk", "v": 1}'], "needs its payload frame"),
        ([], "one or two frames, not 0"),
        ([b"{}", b"", b""], "one or two frames, not 3"),
        ([b" " * (MAX_HEADER_BYTES + 1)], "the header is"),
    ],
)
def test_decode_says_what_is_wrong(frames: list[bytes], match: str) -> None:
    with pytest.raises(WireError, match=match):
        decode(frames)


def test_decode_refuses_an_oversize_payload() -> None:
    header = encode(BundleChunk(version=1, offset=0, total_size=1, eof=True, data=b"x"))[0]

    with pytest.raises(WireError, match="the payload is"):
        decode([header, b"\0" * (MAX_CHUNK_BYTES + 1)])


def test_a_chunk_must_fit_its_bundle() -> None:
    header = encode(BundleChunk(version=1, offset=0, total_size=1, eof=True, data=b"x"))[0]

    with pytest.raises(WireError, match="past the bundle"):
        decode([header, b"xy"])


def test_encode_refuses_an_oversize_header() -> None:
    report = DecisionReport(
        decision_id="d", site="s", risk="low", payload={"text": "x" * MAX_HEADER_BYTES}
    )

    with pytest.raises(WireError, match="the limit is"):
        encode(report)


def test_decode_keeps_the_offending_message_id_for_the_error_reply() -> None:
    with pytest.raises(WireError) as caught:
        decode([b'{"type": "ack", "v": 9, "id": "abc123"}'])

    assert caught.value.message_id == "abc123"


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    header = _header(HeartbeatAck(seq=4)) | {"added_in_a_later_release": [1, 2]}

    decoded = decode([json.dumps(header).encode()])

    assert decoded == HeartbeatAck(seq=4, id=header["id"])


def test_non_finite_numbers_are_refused_when_building_a_message() -> None:
    with pytest.raises(ValidationError):
        Heartbeat(site="s", seq=1, sent_at=1.0, quality={"live_mae": float("nan")})
    with pytest.raises(ValidationError):
        DecisionReport(decision_id="d", site="s", risk="low", payload={"x": float("inf")})


def test_a_site_must_be_a_safe_name() -> None:
    with pytest.raises(ValidationError):
        Hello(site="../etc", agent_version="1", schema_hash="h")


def test_a_rollback_order_signature_verifies_and_survives_a_resend() -> None:
    key = Ed25519PrivateKey.generate()
    order = sign_rollback_order(SAMPLES[8], key)  # type: ignore[arg-type]

    verify_rollback_order(order, key.public_key())
    resent = decode(encode(order.model_copy(update={"id": "f" * 32})))
    assert isinstance(resent, RollbackOrder)
    verify_rollback_order(resent, key.public_key())


def test_a_tampered_or_foreign_rollback_order_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    order = sign_rollback_order(SAMPLES[8], key)  # type: ignore[arg-type]
    tampered = order.model_copy(update={"to_version": 1})

    with pytest.raises(WireError, match="not signed by the control plane"):
        verify_rollback_order(tampered, key.public_key())
    with pytest.raises(WireError, match="not signed by the control plane"):
        verify_rollback_order(order, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(WireError, match="not signed by the control plane"):
        verify_rollback_order(order.model_copy(update={"signature": "%%%"}), key.public_key())


def test_rollback_order_bytes_are_canonical_and_leave_out_the_signature() -> None:
    order = SAMPLES[8]
    assert isinstance(order, RollbackOrder)

    covered = json.loads(rollback_order_bytes(order))

    assert "signature" not in covered
    assert "id" not in covered
    assert covered["type"] == "rollout.rollback_order"
    assert covered["to_version"] == 3
    assert rollback_order_bytes(order) == rollback_order_bytes(
        order.model_copy(update={"id": "x", "signature": "y"})
    )


# --- fuzz: nothing but WireError comes out of decode --------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _decode_or_wire_error(frames: list[bytes]) -> None:
    try:
        message = decode(frames)
    except WireError:
        return
    assert decode(encode(message)) == message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=4))
def test_decode_raises_only_wire_error_on_arbitrary_frames(frames: list[bytes]) -> None:
    _decode_or_wire_error(frames)


@settings(max_examples=500, deadline=None)
@given(
    type_name=st.sampled_from(sorted(MESSAGE_TYPES)),
    version=st.one_of(st.just(1), _json_values),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "id", "reply_to", "site", "seq", "sent_at", "health", "quality", "version",
                "offset", "length", "total_size", "eof", "status", "smoke", "payload",
                "decision_id", "risk", "approved", "code", "detail", "ok", "rollout_id",
                "bundle_digest", "size", "chunk_size", "server_time", "heartbeat_interval_s",
                "agent_version", "schema_hash", "from_version", "to_version", "issued_at",
            ]
        ),
        _json_values,
        max_size=10,
    ),
    payload=st.one_of(st.none(), st.binary(max_size=64)),
)  # fmt: skip
def test_decode_raises_only_wire_error_on_plausible_headers(
    type_name: str, version: Any, fields: dict[str, Any], payload: bytes | None
) -> None:
    header = {**fields, "type": type_name, "v": version}
    frames = [json.dumps(header).encode()]
    if payload is not None:
        frames.append(payload)
    _decode_or_wire_error(frames)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=0, max_value=2**62),
    sent_at=st.floats(allow_nan=False, allow_infinity=False),
    health=st.dictionaries(
        st.text(max_size=12), st.floats(allow_nan=False, allow_infinity=False), max_size=6
    ),
)
def test_heartbeats_round_trip_for_any_finite_values(
    seq: int, sent_at: float, health: dict[str, float]
) -> None:
    beat = Heartbeat(site="s", seq=seq, sent_at=sent_at, health=health)

    assert decode(encode(beat)) == beat


@pytest.mark.parametrize("depth", [300, 900, 990, 5000])
def test_deeply_nested_payloads_decode_or_fail_with_wire_error(depth: int) -> None:
    header = (
        b'{"type": "decisions.report", "v": 1, "decision_id": "d", "site": "s", "risk": "low",'
        b' "payload": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
    )

    _decode_or_wire_error([header])
