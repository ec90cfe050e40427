"""Data: ingest and quarantine per site, quarantine by reason, schema versions, retention.

The control plane knows what the sites last reported in their heartbeats (rates and recent
quarantine counts by reason) and the schema each announced when it connected. The quarantined
records themselves, and the readings, stay on the agents (see docs/ingestion.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from control_plane.access import Permission, Principal
from control_plane.operations.base import OperationsBase
from control_plane.operations.views import QUARANTINE_PREFIX
from edge_agent.settings import RetentionSettings


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteData:
    """One site's data flow as its last heartbeat reported it."""

    site: str
    last_seen: float
    ingest_rate: float | None
    """Records per second."""
    quarantine_rate: float | None
    """The share of records quarantined."""
    quarantined: dict[str, float]
    """Recent quarantine counts by reason."""
    schema_hash: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Retention:
    """How long agents keep their data by default (each agent's `[agent.retention]`)."""

    readings_days: float
    quarantine_days: float
    interval_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class DataView:
    """The fleet's data as the data page and the API show it."""

    generated_at: float
    sites: list[SiteData]
    quarantine_by_reason: dict[str, float]
    """The fleet's recent quarantine counts by reason, largest first."""
    schemas: dict[str, list[str]]
    """Each schema hash in the fleet and the sites that announced it."""
    retention: Retention

    def to_dict(self) -> dict[str, Any]:
        """Return the view as plain JSON."""
        return asdict(self)


def agent_retention() -> Retention:
    """Return the agents' default retention (edge_agent's settings, docs/ingestion.md)."""
    defaults = RetentionSettings()
    return Retention(
        readings_days=defaults.readings_days,
        quarantine_days=defaults.quarantine_days,
        interval_s=defaults.interval_s,
    )


def _quarantined(health: dict[str, float]) -> dict[str, float]:
    return {
        key.removeprefix(QUARANTINE_PREFIX): value
        for key, value in health.items()
        if key.startswith(QUARANTINE_PREFIX)
    }


class DataOperations(OperationsBase):
    """Data operations (read only)."""

    def data(self, who: Principal) -> DataView:
        """Return ingest, quarantine and schema figures per site and for the fleet."""
        who.require(Permission.VIEW)
        hashes = dict(self.plane.writer.db.execute("SELECT site, schema_hash FROM sites"))
        sites = [
            SiteData(
                site=record.site,
                last_seen=record.last_seen,
                ingest_rate=record.health.get("ingest_rate"),
                quarantine_rate=record.health.get("quarantine_rate"),
                quarantined=_quarantined(record.health),
                schema_hash=hashes.get(record.site),
            )
            for record in self.plane.fleet.list()
        ]
        totals: dict[str, float] = {}
        schemas: dict[str, list[str]] = {}
        for site in sites:
            for reason, count in site.quarantined.items():
                totals[reason] = totals.get(reason, 0.0) + count
            if site.schema_hash:
                schemas.setdefault(site.schema_hash, []).append(site.site)
        return DataView(
            generated_at=self._clock(),
            sites=sites,
            quarantine_by_reason=dict(sorted(totals.items(), key=lambda item: -item[1])),
            schemas=schemas,
            retention=agent_retention(),
        )
