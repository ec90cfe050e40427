"""The agent's side of the control plane conversation: hello, heartbeats, models, rollbacks.

- On every (re)connection the agent says hello; heartbeats carry its health and the active
  model's live quality.
- A model offer is handled in a worker thread: the bundle is fetched in chunks, several
  requests in flight, into a `.part` file that survives restarts (a resumed fetch asks for
  the next missing offset; see `transport.chunks`), then verified and activated (see
  `model_store.activation`). The result goes to the outbox, so it reaches the control plane
  even if the link is down at that moment. `last_delivery` says when each step ended.
- A rollback order is obeyed only if the control plane's Ed25519 key signed it; it works
  offline too, since the previous model is kept on the device.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge_agent.enrollment import AgentIdentity
from edge_agent.inference import LiveQuality
from edge_agent.model_store import (
    ActivationRefused,
    ModelStore,
    install_bundle,
    switch_to_bundle,
)
from edge_agent.store import AgentStore
from edge_agent.transport import CurveClient, Outbox
from edge_agent.transport.chunks import fetch_bundle
from edgeward import __version__
from edgeward.bundles import load_verification_key
from edgeward.errors import EdgewardError
from edgeward.wire import (
    Ack,
    ActivationResult,
    ActivationStatus,
    ErrorCode,
    ErrorReply,
    Heartbeat,
    Hello,
    ModelOffer,
    RollbackOrder,
    WireError,
    WireMessage,
    verify_rollback_order,
)
from edgeward.workers import Every

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 20.0
RETRY_S = 5.0


@dataclass(kw_only=True, slots=True, frozen=True)
class DeliveryTimes:
    """When (wall clock) each step of taking an offered version ended."""

    version: int
    offered_at: float
    fetched_at: float
    """The whole archive is in the `.part` file."""
    installed_at: float
    """Unpacked, signature, digest, schema and version order checked, renamed into place."""
    activated_at: float
    """Smoke-tested, switched to and the result committed to the outbox."""


class ControlLink:
    """Keep the agent in touch with the control plane and act on what it sends."""

    def __init__(
        self,
        *,
        identity: AgentIdentity,
        store: AgentStore,
        models: ModelStore,
        quality: LiveQuality,
        schema_hash: str,
        heartbeat_interval_s: float,
        health: Callable[[], dict[str, float]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.identity = identity
        self.models = models
        self.quality = quality
        self.schema_hash = schema_hash
        self._health = health
        self._clock = clock
        self._verify_key = load_verification_key(identity.signing_public_key)
        self.client = CurveClient(
            endpoint=identity.control_plane_address,
            server_public_key=identity.control_plane_curve_public_key,
            public_key=identity.curve_public_key,
            secret_key=identity.curve_secret_key,
        )
        self.outbox = Outbox(store, self.client)
        self._offers: queue.Queue[ModelOffer | None] = queue.Queue()
        self._incoming = models.root / ".incoming"
        self._seq = 0
        self.last_delivery: DeliveryTimes | None = None
        self._heartbeats = Every("heartbeat", heartbeat_interval_s, self.send_heartbeat)
        self._deliverer = threading.Thread(target=self._deliver, name="model-delivery", daemon=True)
        self.client.on(ModelOffer, self._on_offer)
        self.client.on(RollbackOrder, self._on_rollback)
        self.client.on_connected(self._say_hello)

    def start(self) -> None:
        """Connect and start heartbeats, the outbox and model delivery."""
        self.client.start()
        self.outbox.start()
        self._deliverer.start()
        self._heartbeats.start()

    def stop(self) -> None:
        """Stop everything (the outbox keeps what was not yet acknowledged)."""
        self._heartbeats.stop()
        self._offers.put(None)
        self._deliverer.join(10)
        self.outbox.stop()
        self.client.stop()

    def send_heartbeat(self) -> None:
        """Send one heartbeat (dropped if the link is down: the next one will say it all)."""
        self._seq += 1
        health = {**self._health(), "outbox_backlog": float(self.outbox.backlog())}
        self.client.send(
            Heartbeat(
                site=self.identity.site,
                seq=self._seq,
                sent_at=self._clock(),
                active_version=self.models.state()["active"],
                health=health,
                quality=self.quality.snapshot(),
            )
        )

    def _say_hello(self) -> None:
        state = self.models.state()
        self.client.send(
            Hello(
                site=self.identity.site,
                agent_version=__version__,
                active_version=state["active"],
                previous_version=state["previous"],
                schema_hash=self.schema_hash,
            )
        )

    def _on_offer(self, offer: ModelOffer) -> WireMessage:
        self._offers.put(offer)
        return Ack(ok=True)

    def _deliver(self) -> None:
        while True:
            offer = self._offers.get()
            if offer is None:
                return
            try:
                self._take(offer)
            except EdgewardError as err:
                log.warning(
                    "delivering version %s failed (%s); waiting for the next offer",
                    offer.version,
                    err,
                )

    def _take(self, offer: ModelOffer) -> None:
        offered_at = self._clock()
        state = self.models.state()
        if state["active"] == offer.version:
            self._report(offer, "activated", "already active")
            return
        archive = self._fetch(offer)
        fetched_at = self._clock()
        try:
            bundle = install_bundle(
                self.models,
                archive,
                version=offer.version,
                signing_key=self._verify_key,
                schema_hash=self.schema_hash,
            )
            installed_at = self._clock()
            result = switch_to_bundle(self.models, bundle, version=offer.version)
        except ActivationRefused as err:
            log.error("version %s refused: %s", offer.version, err)
            self._report(offer, "failed", str(err))
        else:
            self._report(offer, "activated", f"previous {result.previous}", result.smoke)
            self.last_delivery = DeliveryTimes(
                version=offer.version,
                offered_at=offered_at,
                fetched_at=fetched_at,
                installed_at=installed_at,
                activated_at=self._clock(),
            )
        finally:
            archive.unlink(missing_ok=True)

    def _fetch(self, offer: ModelOffer) -> Path:
        """Download the bundle, resuming a partial download left by an earlier attempt."""
        self._incoming.mkdir(parents=True, exist_ok=True)
        part = self._incoming / f"{offer.version}.part"
        fetch_bundle(self.client, offer, part, timeout_s=FETCH_TIMEOUT_S)
        return part

    def _on_rollback(self, order: RollbackOrder) -> WireMessage:
        try:
            verify_rollback_order(order, self._verify_key)
        except WireError as err:
            log.error("%s", err)
            return ErrorReply(code=ErrorCode.REJECTED, detail=str(err))
        if order.site != self.identity.site:
            return ErrorReply(code=ErrorCode.REJECTED, detail="the order names another site")
        state = self.models.state()
        if state["active"] != order.to_version:
            if order.to_version not in self.models.installed():
                detail = f"version {order.to_version} is not installed here"
                self._report_rollback(order, "failed", detail)
                return ErrorReply(code=ErrorCode.REJECTED, detail=detail)
            self.models.switch(order.to_version)
            log.warning(
                "rolled back from %s to %s: %s", order.from_version, order.to_version, order.reason
            )
        self._report_rollback(order, "rolled_back", order.reason)
        return Ack(ok=True)

    def _report(
        self,
        offer: ModelOffer,
        status: ActivationStatus,
        detail: str,
        smoke: dict[str, float] | None = None,
    ) -> None:
        self.outbox.put(
            ActivationResult(
                rollout_id=offer.rollout_id,
                version=offer.version,
                site=self.identity.site,
                status=status,
                detail=detail[:4000],
                smoke=smoke or {},
            )
        )

    def _report_rollback(self, order: RollbackOrder, status: ActivationStatus, detail: str) -> None:
        self.outbox.put(
            ActivationResult(
                rollout_id=order.rollout_id,
                version=order.from_version,
                site=self.identity.site,
                status=status,
                detail=detail[:4000],
            )
        )
