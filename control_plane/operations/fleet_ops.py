"""The overview and the fleet: sites, their health and enrollment; revoking a site."""

from __future__ import annotations

from certs import DEVICES_DB_FILE, DeviceRecord, load_pki
from certs.device_index import read_records
from certs.devices import revoke_device
from control_plane.access import Permission, Principal
from control_plane.operations.base import OperationsBase
from control_plane.operations.views import (
    FleetSummary,
    Overview,
    SiteView,
    fleet_summary,
    quarantine_by_reason,
    rollout_brief,
    site_views,
)
from control_plane.rollout import ACTIVE_STATUSES

# A site that has not reported for this many heartbeat intervals counts as offline.
OFFLINE_AFTER_HEARTBEATS = 3


class FleetOperations(OperationsBase):
    """Overview and fleet operations."""

    # -- overview -------------------------------------------------------------------
    def overview(self, who: Principal) -> Overview:
        """Return the whole system at a glance."""
        who.require(Permission.VIEW)
        now = self._clock()
        sites = self.sites(who)
        versions = self.plane.registry.list()
        aliases = {alias: m.version for m in versions for alias in m.aliases}
        champion = aliases.get("champion")
        ids = self.plane.engine.store.ids(statuses=ACTIVE_STATUSES)
        rollout = self.plane.engine.store.get(ids[-1]) if ids else None
        return Overview(
            generated_at=now,
            fleet=fleet_summary(sites, champion),
            champion=champion,
            aliases=dict(sorted(aliases.items())),
            latest_version=max((m.version for m in versions), default=None),
            active_rollout=None if rollout is None else rollout_brief(rollout),
            pending_approvals=self.plane.approvals.store.count_pending(),
            decisions_by_risk=self.plane.approvals.counts(since=now - 86400).decisions_by_risk,
            quarantine_by_reason=quarantine_by_reason(sites),
        )

    # -- fleet ----------------------------------------------------------------------
    def sites(self, who: Principal) -> list[SiteView]:
        """Return every site: its last report and enrollment state."""
        who.require(Permission.VIEW)
        devices = read_records(self.plane.settings.pki_dir / DEVICES_DB_FILE)
        return site_views(
            self.plane.fleet.list(),
            devices,
            online_within_s=OFFLINE_AFTER_HEARTBEATS * self.plane.settings.heartbeat_interval_s,
            now=self._clock(),
        )

    def fleet_summary(self, who: Principal) -> FleetSummary:
        """Return the fleet's health in a few numbers."""
        champion = self.plane.registry.alias("champion")
        return fleet_summary(self.sites(who), champion.version if champion else None)

    def quarantine_by_reason(self, who: Principal) -> dict[str, float]:
        """Return the fleet's recent quarantine counts by reason."""
        return quarantine_by_reason(self.sites(who))

    def revoke_site(self, who: Principal, site: str, *, reason: str) -> DeviceRecord:
        """Cut a site off: the control plane refuses its connection from now on."""
        who.require(Permission.REVOKE_SITE)
        record = revoke_device(load_pki(self.plane.settings.pki_dir), site, reason=reason)
        self.plane.audit.record(
            actor=who.name, action="fleet.revoke", subject=site, detail={"reason": reason}
        )
        return record
