"""Versioned messages between agents and the control plane, and their one (de)serialiser.

Frames on the wire are `[header]` or `[header, payload]`, the header a message's JSON and the
payload raw bytes (bundle chunks only). Every message carries `type`, `v` (schema version),
`id` (uuid4 hex, set by the sender; a resend keeps it) and `reply_to`.

Messages and what makes each idempotent:

| message | direction | reply | idempotent by |
|---|---|---|---|
| `Hello` | agent → CP | `HelloAck` | nothing to repeat: refreshes the site's route and versions |
| `Heartbeat` | agent → CP | `HeartbeatAck` | (`site`, `seq`) |
| `ModelOffer` | CP → agent (pushed) | `Ack` | (`rollout_id`, `version`) |
| `FetchChunk` | agent → CP | `BundleChunk` | read-only |
| `ActivationResult` | agent → CP (outbox) | `Ack` | (`rollout_id`, `version`, `site`) |
| `RollbackOrder` | CP → agent (pushed, signed) | `Ack` | (`rollout_id`, `site`, `to_version`) |
| `DecisionReport` | agent → CP (outbox) | `Ack` | (`decision_id`, `payload.outcome`) |
| `ApprovalRequest` | agent → CP (outbox) | `Ack` | `decision_id` |
| `ApprovalVerdict` | CP → agent (pushed) | `Ack` | `decision_id` (the first verdict is final) |
| `Ack`, `ErrorReply` | either | none | change nothing |

Any receiver may also drop a message whose `id` it has already handled.
"""

from edgeward.risk.decision import RiskLevel
from edgeward.wire.base import (
    MAX_CHUNK_BYTES,
    MAX_HEADER_BYTES,
    WIRE_VERSION,
    JsonObject,
    WireMessage,
    new_message_id,
)
from edgeward.wire.decisions import ApprovalRequest, ApprovalVerdict, DecisionReport
from edgeward.wire.errors import WireError
from edgeward.wire.models import BundleChunk, FetchChunk, ModelOffer
from edgeward.wire.replies import Ack, ErrorCode, ErrorReply
from edgeward.wire.rollout import (
    ActivationResult,
    ActivationStatus,
    RollbackOrder,
    rollback_order_bytes,
    sign_rollback_order,
    verify_rollback_order,
)
from edgeward.wire.serde import MESSAGE_TYPES, SUPPORTED_VERSIONS, decode, encode
from edgeward.wire.session import Heartbeat, HeartbeatAck, Hello, HelloAck

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_HEADER_BYTES",
    "MESSAGE_TYPES",
    "SUPPORTED_VERSIONS",
    "WIRE_VERSION",
    "Ack",
    "ActivationResult",
    "ActivationStatus",
    "ApprovalRequest",
    "ApprovalVerdict",
    "BundleChunk",
    "DecisionReport",
    "ErrorCode",
    "ErrorReply",
    "FetchChunk",
    "Heartbeat",
    "HeartbeatAck",
    "Hello",
    "HelloAck",
    "JsonObject",
    "ModelOffer",
    "RiskLevel",
    "RollbackOrder",
    "WireError",
    "WireMessage",
    "decode",
    "encode",
    "new_message_id",
    "rollback_order_bytes",
    "sign_rollback_order",
    "verify_rollback_order",
]
