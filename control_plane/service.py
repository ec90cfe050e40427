"""The control plane as one service: ZeroMQ server, registry intake, gate, rollout, approvals.

- Agents connect over CURVE; the ZAP handler admits keys the PKI's device index lists as
  enrolled and not revoked.
- Every few seconds, bundles the aggregator submitted are signed with the model-signing key
  and registered; each new version goes through the promotion gate, and in `auto` mode a
  passing one is screened (`control_plane.pipeline_risk`) and starts a rollout (unless one is
  already running) or, when it screens high, waits at the approval desk; approving it there
  starts the rollout. Rollbacks are screened and recorded, never held.
- Every second, the rollout engine advances; offers and signed rollback orders go out
  through the server.
- Agents' approval requests and decision reports go to the approval desk; every tick, pending
  requests past their time expire and verdicts not yet acknowledged are pushed (again), and
  a site's unacknowledged verdicts are pushed at once when it says hello.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from functools import partial

from certs import admitted_site, load_pki, read_curve_certificate
from control_plane.approvals import ApprovalDesk
from control_plane.pipeline_risk import PipelineScreen
from control_plane.promotion import GateReport, judge_version
from control_plane.registry import ModelRegistry, SqliteRegistry
from control_plane.rollout import RolloutEngine, RolloutError, RolloutStore
from control_plane.server_stats_file import SERVER_STATS_INTERVAL_S, write_server_stats
from control_plane.settings import ControlSettings
from control_plane.state import AuditLog, FleetStore, Writer, open_control_db
from control_plane.transport import CurveServer
from edgeward.bundles import (
    BundleError,
    RegistryLayout,
    load_signing_key,
    read_bundle,
    sign_bundle,
)
from edgeward.bundles.archive import pack_bundle
from edgeward.errors import CertificateError, EdgewardError
from edgeward.risk import PIPELINE_SITE
from edgeward.wire import (
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
    WireMessage,
    sign_rollback_order,
)
from edgeward.workers import Every

log = logging.getLogger(__name__)


class PackedBundles:
    """Registered bundles as delivery archives, packed once and kept in memory."""

    def __init__(self, registry: ModelRegistry) -> None:
        self._registry = registry
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def get(self, version: int) -> bytes:
        """Return the archive of `version` (raises if the registry has no such version)."""
        with self._lock:
            if version not in self._cache:
                self._cache[version] = pack_bundle(self._registry.get(version).path)
            return self._cache[version]


class ControlPlane:
    """Wire the pieces together; `start()`/`stop()` run them."""

    def __init__(self, settings: ControlSettings) -> None:
        self.settings = settings
        self.pki = load_pki(settings.pki_dir)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.writer = Writer(open_control_db(settings.state_dir))
        self.fleet = FleetStore(self.writer)
        self.audit = AuditLog(self.writer)
        self.registry: ModelRegistry = SqliteRegistry.open(settings.registry_dir)
        self.bundles = PackedBundles(self.registry)
        self._signing_key = load_signing_key(self.pki.signing.private_key)
        public_key, secret_key = read_curve_certificate(self.pki.curve.secret_file)
        if secret_key is None:
            raise CertificateError(f"{self.pki.curve.secret_file} holds no CURVE secret key")
        self.server = CurveServer(
            bind=settings.bind,
            public_key=public_key,
            secret_key=secret_key,
            admit=partial(admitted_site, settings.pki_dir),
        )
        self.approvals = ApprovalDesk(self.writer, self.audit)
        rollouts = RolloutStore(self.writer)
        self.pipeline = PipelineScreen.from_settings(
            settings.risk, rollouts, self.approvals, self.audit
        )
        self.engine = RolloutEngine(
            rollouts, self.fleet, self.registry, self.audit, self, screen=self.pipeline
        )
        self._register_handlers()
        self._workers = [
            Every("fleet-flush", 1.0, self.fleet.flush),
            Every("rollout-engine", settings.tick_interval_s, self._tick),
            # Its own worker, so that a failing rollout step cannot hold verdicts back.
            Every("approvals", settings.tick_interval_s, self._approvals_tick),
            Every("registry-intake", settings.import_interval_s, self.take_in_submissions),
            Every("server-stats", SERVER_STATS_INTERVAL_S, self.write_server_stats),
        ]

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Serve agents and run the periodic work."""
        self.server.start()
        for worker in self._workers:
            worker.start()
        log.info("control plane serving on %s", self.server.endpoint)

    def stop(self) -> None:
        """Stop the periodic work and the server."""
        for worker in self._workers:
            worker.stop()
        self.server.stop()
        self.fleet.flush()
        self.write_server_stats()  # the final counts, for whoever reads them after a stop

    def write_server_stats(self) -> None:
        """Write the server's counters to the state folder (see `server_stats_file`)."""
        try:
            write_server_stats(
                self.settings.state_dir, self.server.stats(), now=time.time(), pid=os.getpid()
            )
        except OSError as err:  # a full disk must not stop the server or its shutdown
            log.warning("cannot write the server's stats file: %s", err)

    # -- courier (what the rollout engine sends) ------------------------------------
    def offer(self, site: str, rollout_id: int, version: int) -> bool:
        """Push a model offer to a site."""
        archive = self.bundles.get(version)
        manifest = self.registry.get(version)
        return self.server.send(
            site,
            ModelOffer(
                rollout_id=str(rollout_id),
                version=version,
                bundle_digest=manifest.bundle_digest,
                size=len(archive),
                chunk_size=self.settings.chunk_size,
                reason=f"rollout {rollout_id}",
            ),
        )

    def order_rollback(
        self, site: str, rollout_id: int, from_version: int, to_version: int | None, reason: str
    ) -> bool:
        """Push a signed rollback order to a site."""
        if to_version is None:
            log.warning("rollout %s: %s has no earlier model to go back to", rollout_id, site)
            return False
        order = RollbackOrder(
            rollout_id=str(rollout_id),
            site=site,
            from_version=from_version,
            to_version=to_version,
            reason=reason[:4000],
            issued_at=time.time(),
        )
        return self.server.send(site, sign_rollback_order(order, self._signing_key))

    # -- intake and gate ------------------------------------------------------------
    def take_in_submissions(self) -> list[GateReport]:
        """Sign and register what the aggregator submitted; gate each new version."""
        layout = RegistryLayout(self.settings.registry_dir)
        if layout.inbox.exists():
            for submission in sorted(layout.inbox.iterdir()):
                if submission.is_dir() and not submission.name.startswith("."):
                    try:
                        if read_bundle(submission).manifest.signature is None:
                            sign_bundle(submission, self.pki.signing.private_key)
                    except (BundleError, OSError) as err:
                        log.warning(
                            "submission %s cannot be signed (%s); the registry will reject it",
                            submission.name,
                            err,
                        )
        report = self.registry.import_submissions()
        return [self.gate(version.version) for version in report.registered]

    def gate(self, version: int, *, actor: str = "promotion-gate") -> GateReport:
        """Judge a registered version; in auto mode, start its rollout when it passes."""
        report = judge_version(
            self.registry, self.audit, version, self.settings.gate.config(), actor=actor
        )
        log.info(
            "gate for version %s: %s (%s)",
            version,
            "passed" if report.passed else "failed",
            report.summary(),
        )
        if (
            report.passed
            and self.settings.gate.mode == "auto"
            and not self.engine.store.ids(statuses=("running", "paused"))
        ):
            plan = self.settings.rollout.plan()
            if self.settings.risk.screen_promotions:
                verdict = self.pipeline.promotion(report, plan, fleet_sites=len(self.fleet.list()))
                if not verdict.runs:
                    self.pipeline.hold(verdict)
                    return report
            self.engine.start(version, actor=actor, plan=plan, gate_report=report.to_dict())
        return report

    def _pipeline_verdict(self, verdict: ApprovalVerdict) -> Ack:
        """Act on a person's verdict on a held promotion; the answer settles the verdict."""
        if not verdict.approved:
            return Ack(ok=True, reply_to=verdict.id)
        approval = self.approvals.get(verdict.decision_id)
        version = (approval.decision.get("parameters") or {}).get("version") if approval else None
        if not isinstance(version, int):
            return Ack(ok=False, reply_to=verdict.id, detail="the decision names no version")
        report = judge_version(
            self.registry, self.audit, version, self.settings.gate.config(), actor="approval"
        )
        try:
            if not report.passed:
                raise RolloutError(f"version {version} no longer passes the gate")
            approver = verdict.payload.get("actor", "operator")
            self.engine.start(
                version,
                actor=f"{approver} (decision {verdict.decision_id})",
                plan=self.settings.rollout.plan(),
                gate_report={**report.to_dict(), "approval": verdict.decision_id},
            )
        except EdgewardError as err:  # RolloutError among them
            log.warning("approved promotion %s cannot start: %s", verdict.decision_id, err)
            return Ack(ok=False, reply_to=verdict.id, detail=f"the rollout cannot start: {err}")
        return Ack(ok=True, reply_to=verdict.id)

    # -- message handlers -----------------------------------------------------------
    def _register_handlers(self) -> None:
        self.server.on(Hello, self._hello)
        self.server.on(Heartbeat, self._heartbeat)
        self.server.on(FetchChunk, self._fetch)
        self.server.on(ActivationResult, self._activation)
        self.server.on(ApprovalRequest, self.approvals.intake.request)
        self.server.on(DecisionReport, self.approvals.intake.report)
        self.server.on(Ack, self.approvals.delivery.acknowledged)
        self.server.on(ErrorReply, self.approvals.delivery.refused)

    def _hello(self, site: str, message: Hello) -> WireMessage:
        self.fleet.hello(
            site=site,
            agent_version=message.agent_version,
            active_version=message.active_version,
            previous_version=message.previous_version,
            schema_hash=message.schema_hash,
        )
        # A reconnection: what was pushed over the old connection may be lost.
        self.approvals.delivery.deliver(self, site=site)
        return HelloAck(
            server_time=time.time(), heartbeat_interval_s=self.settings.heartbeat_interval_s
        )

    def _heartbeat(self, site: str, message: Heartbeat) -> WireMessage:
        self.fleet.heartbeat(
            site=site,
            active_version=message.active_version,
            health=dict(message.health),
            quality=dict(message.quality),
        )
        return HeartbeatAck(seq=message.seq)

    def _fetch(self, site: str, message: FetchChunk) -> WireMessage:
        try:
            archive = self.bundles.get(message.version)
        except EdgewardError:  # an unknown version: say so rather than fail the server loop
            return ErrorReply(
                code=ErrorCode.REJECTED, detail=f"there is no version {message.version}"
            )
        data = archive[message.offset : message.offset + message.length]
        end = message.offset + len(data)
        return BundleChunk(
            version=message.version,
            offset=message.offset,
            total_size=len(archive),
            eof=end == len(archive),
            data=data,
        )

    def _activation(self, site: str, message: ActivationResult) -> WireMessage:
        if not message.rollout_id.isdigit():
            return ErrorReply(
                code=ErrorCode.REJECTED, detail=f"there is no rollout {message.rollout_id!r}"
            )
        # Marking the message processed and applying it commit together (one fsync): a crash
        # between them can neither lose the report nor apply it twice.
        with self.writer.transaction():
            if self.fleet.first_time(message.id, site):
                self.engine.activation_reported(
                    site=site,
                    rollout_id=int(message.rollout_id),
                    version=message.version,
                    status=message.status,
                    detail=message.detail,
                )
        return Ack(ok=True)

    def _tick(self) -> None:
        self.engine.tick()
        self.engine.resend_rollback_orders()

    def _approvals_tick(self) -> None:
        self.approvals.expire_due()
        self.approvals.delivery.deliver(self)

    def send(self, site: str, message: WireMessage) -> bool:
        """Deliver a verdict: to an agent over the server, or to the pipeline here."""
        if site != PIPELINE_SITE:
            return self.server.send(site, message)
        if isinstance(message, ApprovalVerdict):
            self.approvals.delivery.acknowledged(site, self._pipeline_verdict(message))
        return True
