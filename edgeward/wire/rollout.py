"""Rollout messages: an agent reports how an activation went; the control plane orders rollbacks.

Idempotency: an `ActivationResult` is identified by (`rollout_id`, `version`, `site`); the
control plane records the first and acknowledges repeats without recording them again, so
an agent can resend it from its outbox until it is acknowledged. A `RollbackOrder` is
identified by (`rollout_id`, `site`, `to_version`): an agent already on `to_version`
acknowledges it and does nothing.

A rollback order is signed with the control plane's Ed25519 key, so that an agent acts on
it only when it really comes from the control plane (CURVE authenticates the connection; the
signature authenticates the order itself, wherever it was relayed or stored). The signature
covers `rollback_order_bytes(order)`: the order's `type`, `v` and fields without `id`,
`reply_to` and `signature`, as JSON with sorted keys, no whitespace, UTF-8. A resend with a
new message id therefore keeps the same signature. `signature` is base64 (standard alphabet).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field

from edgeward.wire.base import Readings, RolloutId, SiteName, Version, WireMessage
from edgeward.wire.errors import WireError

ActivationStatus = Literal["activated", "failed", "rolled_back"]


class ActivationResult(WireMessage):
    """Report the outcome of activating `version` on `site` for a rollout.

    `smoke` holds the numbers of the post-activation smoke test (latency, error on recent
    data, ...); `detail` says in a sentence what went wrong when it did.
    """

    type: Literal["rollout.activation_result"] = "rollout.activation_result"
    rollout_id: RolloutId
    version: Version
    site: SiteName
    status: ActivationStatus
    detail: str = Field(default="", max_length=4096)
    smoke: Readings = Field(default_factory=dict)


class RollbackOrder(WireMessage):
    """Order `site` back from `from_version` to `to_version` (pushed, signed)."""

    type: Literal["rollout.rollback_order"] = "rollout.rollback_order"
    rollout_id: RolloutId
    site: SiteName
    from_version: Version
    to_version: Version
    reason: str = Field(max_length=4096)
    issued_at: float
    signature: str = Field(default="", max_length=512)


def rollback_order_bytes(order: RollbackOrder) -> bytes:
    """Return the canonical bytes a rollback order's signature covers."""
    document = order.model_dump(mode="json", exclude={"id", "reply_to", "signature"})
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sign_rollback_order(order: RollbackOrder, key: Ed25519PrivateKey) -> RollbackOrder:
    """Return `order` with its `signature` set by the control plane's Ed25519 key."""
    signature = key.sign(rollback_order_bytes(order))
    return order.model_copy(update={"signature": base64.b64encode(signature).decode("ascii")})


def verify_rollback_order(order: RollbackOrder, key: Ed25519PublicKey) -> None:
    """Raise `WireError` unless `order` carries a valid signature by `key`."""
    try:
        signature = base64.b64decode(order.signature, validate=True)
        key.verify(signature, rollback_order_bytes(order))
    except (binascii.Error, ValueError, InvalidSignature) as err:
        raise WireError(
            f"the rollback order for rollout {order.rollout_id} is not signed by the control "
            "plane's key; it was ignored",
            message_id=order.id,
        ) from err
