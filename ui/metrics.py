"""`/metrics`: the control plane's state in Prometheus text format, read at scrape time.

A scrape carries an API token with the `view` permission (Prometheus:
`authorization: {credentials: ew_...}`). Each scrape builds a `CollectorRegistry` of its own
(never the process-wide default one) around `ControlPlaneCollector`, which reads the service
layer as the scraping token's principal, so what `/metrics` shows is what the token may see.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Final

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from control_plane.access import NotAuthenticated, Permission, Principal
from control_plane.operations import Operations
from ui.api.errors import INTERNAL_ERROR, error_response, rule_for

log = logging.getLogger(__name__)

METRICS_PATH: Final = "/metrics"
PREFIX: Final = "edgeward_"

FLEET_GAUGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("fleet_sites", "sites", "Sites that reported or are enrolled."),
    ("fleet_sites_online", "online", "Sites that reported within three heartbeat intervals."),
    ("fleet_sites_revoked", "revoked", "Sites whose enrollment is revoked."),
    ("fleet_sites_on_champion", "on_champion", "Sites running the champion version."),
    ("ingest_records_per_second", "ingest_rate", "Records per second across the fleet."),
    ("quarantine_rate", "quarantine_rate", "Mean share of records quarantined at the sites."),
)
"""The fleet summary's gauges: (metric name, `FleetSummary` field, help)."""


class ControlPlaneCollector(Collector):
    """Fleet, ingest, quality, rollout, risk and model gauges over `Operations`."""

    def __init__(self, operations: Operations, who: Principal) -> None:
        self._operations = operations
        self._who = who

    def collect(self) -> Iterator[Metric]:
        """Read the control plane now and yield its metric families."""
        ops, who = self._operations, self._who
        overview = ops.overview(who)
        for name, field, help_text in FLEET_GAUGES:
            yield GaugeMetricFamily(PREFIX + name, help_text, value=getattr(overview.fleet, field))
        yield from self._sites(ops, who)
        quarantined = GaugeMetricFamily(
            PREFIX + "quarantined_records",
            "Records the sites quarantined recently, by reason (their last reports).",
            labels=["reason"],
        )
        for reason, count in overview.quarantine_by_reason.items():
            quarantined.add_metric([reason], count)
        yield quarantined
        yield from _rollout(overview.active_rollout)
        yield GaugeMetricFamily(
            PREFIX + "approvals_pending",
            "Held decisions waiting for a verdict.",
            value=overview.pending_approvals,
        )
        decisions = GaugeMetricFamily(
            PREFIX + "decisions_24h", "Decisions reported in the last 24 hours.", labels=["risk"]
        )
        for risk, count in overview.decisions_by_risk.items():
            decisions.add_metric([risk], count)
        yield decisions
        yield from _screener(ops, who)
        yield GaugeMetricFamily(
            PREFIX + "champion_version",
            "The version the champion alias points at (0: none).",
            value=overview.champion or 0,
        )

    def _sites(self, ops: Operations, who: Principal) -> Iterator[Metric]:
        online = GaugeMetricFamily(
            PREFIX + "site_online", "1 if the site reported recently.", labels=["site"]
        )
        ingest = GaugeMetricFamily(
            PREFIX + "site_ingest_records_per_second",
            "Records per second at the site.",
            labels=["site"],
        )
        mae = GaugeMetricFamily(
            PREFIX + "site_live_mae", "The active model's live MAE at the site.", labels=["site"]
        )
        for view in ops.sites(who):
            online.add_metric([view.site], float(view.online))
            if "ingest_rate" in view.health:
                ingest.add_metric([view.site], view.health["ingest_rate"])
            if "live_mae" in view.quality:
                mae.add_metric([view.site], view.quality["live_mae"])
        yield from (online, ingest, mae)


def _rollout(brief: dict[str, object] | None) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        PREFIX + "rollout_active", "1 while a rollout runs or is paused.", value=float(bool(brief))
    )
    if brief is None:
        return
    info = InfoMetricFamily(PREFIX + "rollout", "The active rollout.")
    info.add_metric([], {key: str(brief[key]) for key in ("id", "version", "status")})
    yield info
    for name, key, help_text in (
        ("rollout_wave", "current_wave", "The active rollout's current wave."),
        ("rollout_waves", "waves", "Waves in the active rollout."),
        ("rollout_sites_activated", "sites_activated", "Sites running the rolled-out version."),
        ("rollout_sites", "sites", "Sites in the active rollout."),
    ):
        value = brief[key]
        yield GaugeMetricFamily(
            PREFIX + name, help_text, value=float(value) if isinstance(value, int) else 0.0
        )


def _screener(ops: Operations, who: Principal) -> Iterator[Metric]:
    accuracy = ops.screener_accuracy(who)
    yield GaugeMetricFamily(
        PREFIX + "screener_judged",
        "Held decisions people gave a verdict on.",
        value=accuracy.judged,
    )
    yield GaugeMetricFamily(
        PREFIX + "screener_agreed",
        "Verdicts that agreed with the screened level.",
        value=accuracy.agreed,
    )
    if accuracy.accuracy is not None:
        yield GaugeMetricFamily(
            PREFIX + "screener_accuracy",
            "Agreed / judged.",
            value=accuracy.accuracy,
        )


def scrape(operations: Operations, authorization: str | None) -> bytes:
    """Return the metrics text for the caller of `authorization` (raises if not allowed)."""
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("Send an API token: 'Authorization: Bearer ew_...'.")
    who = operations.auth.bearer(secret.strip())
    who.require(Permission.VIEW)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ControlPlaneCollector(operations, who))
    text: bytes = generate_latest(registry)
    return text


def add_metrics_route(app: FastAPI, operations: Operations) -> None:
    """Serve `/metrics` on `app` for `operations` (replacing an earlier route there)."""

    async def metrics(request: Request) -> Response:
        try:
            body = await run_in_threadpool(scrape, operations, request.headers.get("authorization"))
        except Exception as err:
            rule = rule_for(err)
            if rule is None:
                log.exception("a /metrics scrape failed")
                return error_response(500, INTERNAL_ERROR)
            return error_response(rule.status, rule.public or str(err))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "path", None) != METRICS_PATH
    ]
    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
