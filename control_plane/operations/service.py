"""Operations: the one service layer the dashboard's pages and the HTTP API call.

Every method takes the `Principal` asking and checks the permission table
(`control_plane.access`) before it reads or changes anything, so a page and an endpoint can
never disagree about who may do what. Changes are recorded in the audit log under the
principal's name. The methods are blocking (SQLite, argon2): async callers run them in a
worker thread (NiceGUI's `run.io_bound`, FastAPI's threadpool for plain `def` endpoints).

Changes made here take effect the way the host CLI's do: through the control plane's
database, which the serving control plane reads on its next tick (offers, rollback orders
and verdicts go out from there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from certs import DEVICES_DB_FILE, load_pki
from certs.device_index import read_records
from certs.devices import revoke_device
from control_plane.access import Permission, Principal, Role
from control_plane.approvals import Approval, ApprovalStatus, DecisionTrail
from control_plane.local import LocalPlane
from control_plane.operations.views import (
    FleetSummary,
    Overview,
    ScreenerAccuracy,
    SiteView,
    fleet_summary,
    quarantine_by_reason,
    rollout_brief,
    screener_accuracy,
    site_views,
)
from control_plane.promotion import GateReport
from control_plane.registry import ModelVersion
from control_plane.rollout import ACTIVE_STATUSES, Rollout, RolloutError
from control_plane.state import AuditEntry
from control_plane.users import AccountStore, ApiToken, Authenticator, User, UserError

# A site that has not reported for this many heartbeat intervals counts as offline.
OFFLINE_AFTER_HEARTBEATS = 3


class Operations:
    """What people may see and do, each call checked against the permission table."""

    def __init__(
        self,
        plane: LocalPlane,
        *,
        accounts: AccountStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plane = plane
        self.accounts = accounts or AccountStore(plane.writer, plane.audit)
        self.auth = Authenticator(
            plane.writer, plane.audit, self.accounts, plane.settings.dashboard, clock=clock
        )
        self._clock = clock

    # -- overview -------------------------------------------------------------------
    def overview(self, who: Principal) -> Overview:
        """Return the whole system at a glance."""
        who.require(Permission.VIEW)
        now = self._clock()
        sites = self.sites(who)
        versions = self.plane.registry.list()
        aliases = {alias: m.version for m in versions for alias in m.aliases}
        champion = aliases.get("champion")
        rollout = self.active_rollout(who)
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

    def revoke_site(self, who: Principal, site: str, *, reason: str) -> None:
        """Cut a site off: the control plane refuses its connection from now on."""
        who.require(Permission.REVOKE_SITE)
        revoke_device(load_pki(self.plane.settings.pki_dir), site, reason=reason)
        self.plane.audit.record(
            actor=who.name, action="fleet.revoke", subject=site, detail={"reason": reason}
        )

    # -- models ---------------------------------------------------------------------
    def models(self, who: Principal) -> list[ModelVersion]:
        """Return every registered version, newest first."""
        who.require(Permission.VIEW)
        return sorted(self.plane.registry.list(), key=lambda m: m.version, reverse=True)

    def model(self, who: Principal, version: int) -> ModelVersion:
        """Return one registered version (raises if there is none)."""
        who.require(Permission.VIEW)
        return self.plane.registry.get(version)

    def champion(self, who: Principal) -> ModelVersion | None:
        """Return the version the champion alias points at, if any."""
        who.require(Permission.VIEW)
        return self.plane.registry.alias("champion")

    def manifest(self, who: Principal, version: int) -> dict[str, Any]:
        """Return a version's manifest: its metrics per site and its lineage."""
        model = self.model(who, version)
        text = (model.path / "manifest.json").read_text(encoding="utf-8")
        manifest: dict[str, Any] = json.loads(text)
        return manifest

    def promote(
        self, who: Principal, version: int, *, reason: str, force: bool = False
    ) -> tuple[int, GateReport]:
        """Start a rollout of `version` (it must pass the gate unless an admin forces it)."""
        who.require(Permission.PROMOTE)
        if force:
            who.require(Permission.OVERRIDE_CRITICAL)
        return self.plane.promote(version, actor=who.name, force=force, reason=reason)

    # -- rollouts -------------------------------------------------------------------
    def rollouts(self, who: Principal, *, limit: int = 50) -> list[Rollout]:
        """Return the newest rollouts, newest first."""
        who.require(Permission.VIEW)
        ids = self.plane.engine.store.ids()[-limit:]
        found = (self.plane.engine.store.get(i) for i in reversed(ids))
        return [r for r in found if r is not None]

    def rollout(self, who: Principal, rollout_id: int) -> Rollout:
        """Return one rollout with its waves and sites."""
        who.require(Permission.VIEW)
        found = self.plane.engine.store.get(rollout_id)
        if found is None:
            raise RolloutError(f"There is no rollout {rollout_id}.")
        return found

    def active_rollout(self, who: Principal) -> Rollout | None:
        """Return the running or paused rollout, if there is one."""
        who.require(Permission.VIEW)
        ids = self.plane.engine.store.ids(statuses=ACTIVE_STATUSES)
        return self.plane.engine.store.get(ids[-1]) if ids else None

    def pause(self, who: Principal, rollout_id: int, *, reason: str) -> None:
        """Pause a rollout: no new wave starts until it is resumed."""
        who.require(Permission.CONTROL_ROLLOUT)
        self.plane.engine.pause(rollout_id, actor=who.name, reason=reason)

    def resume(self, who: Principal, rollout_id: int, *, reason: str) -> None:
        """Resume a paused rollout."""
        who.require(Permission.CONTROL_ROLLOUT)
        self.plane.engine.resume(rollout_id, actor=who.name, reason=reason)

    def abort(self, who: Principal, rollout_id: int, *, reason: str) -> None:
        """Stop a rollout and send the touched sites back to their previous model."""
        who.require(Permission.CONTROL_ROLLOUT)
        self.plane.engine.abort(rollout_id, actor=who.name, reason=reason)

    def roll_back(self, who: Principal, rollout_id: int, *, reason: str) -> None:
        """Roll a rollout back, even a completed one (the champion moves back too)."""
        who.require(Permission.ROLL_BACK)
        self.plane.engine.roll_back(rollout_id, actor=who.name, reason=reason)

    # -- risk -----------------------------------------------------------------------
    def approvals(
        self, who: Principal, *, status: ApprovalStatus | None = None, limit: int = 100
    ) -> list[Approval]:
        """Return approvals in `status` (any when None), newest first."""
        who.require(Permission.VIEW)
        return self.plane.approvals.history(status=status, limit=limit)

    def pending_approvals(self, who: Principal) -> list[Approval]:
        """Return the decisions waiting for a verdict, oldest first."""
        who.require(Permission.VIEW)
        return self.plane.approvals.pending()

    def decision(self, who: Principal, decision_id: str) -> DecisionTrail:
        """Return a decision's approval request and what its site reported about it."""
        who.require(Permission.VIEW)
        return self.plane.approvals.trail(decision_id)

    def approve(self, who: Principal, decision_id: str, *, comment: str) -> Approval:
        """Approve a held decision (one screened critical takes an admin's override)."""
        who.require(Permission.DECIDE_APPROVAL)
        held = self.plane.approvals.get(decision_id)
        override = held is not None and held.risk == "critical"
        if override:
            who.require(Permission.OVERRIDE_CRITICAL)
        return self.plane.approvals.approve(
            decision_id, actor=who.name, comment=comment, override=override
        )

    def deny(self, who: Principal, decision_id: str, *, comment: str) -> Approval:
        """Deny a held decision; its site drops it."""
        who.require(Permission.DECIDE_APPROVAL)
        return self.plane.approvals.deny(decision_id, actor=who.name, comment=comment)

    def decision_counts(self, who: Principal, *, since: float | None = None) -> dict[str, Any]:
        """Return decisions by risk, reports by outcome and approvals by status."""
        who.require(Permission.VIEW)
        return self.plane.approvals.counts(since=since).to_dict()

    def screener_accuracy(self, who: Principal) -> ScreenerAccuracy:
        """Return how often the screener's level matched people's verdicts."""
        who.require(Permission.VIEW)
        return screener_accuracy(self.plane.approvals.decided())

    # -- audit ----------------------------------------------------------------------
    def audit(
        self,
        who: Principal,
        *,
        actor: str | None = None,
        action: str | None = None,
        subject: str | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """Return the newest audit entries matching the filters, newest first."""
        who.require(Permission.VIEW)
        return self.plane.audit.search(
            actor=actor or None, action_prefix=action or None, subject=subject or None, limit=limit
        )

    def verify_audit(self, who: Principal) -> tuple[bool, int | None]:
        """Check the hash chain: (whole, the first broken entry's id or None)."""
        who.require(Permission.VERIFY_AUDIT)
        return self.plane.audit.verify()

    def export_audit(self, who: Principal) -> Iterator[str]:
        """Yield the whole audit log as JSON lines, oldest first (the export is audited)."""
        who.require(Permission.EXPORT_AUDIT)
        self.plane.audit.record(actor=who.name, action="audit.export", subject="audit")
        for entry in self.plane.audit.entries(limit=-1):
            yield json.dumps(entry.to_dict(), sort_keys=True) + "\n"

    # -- people ---------------------------------------------------------------------
    def users(self, who: Principal) -> list[User]:
        """Return every account."""
        who.require(Permission.MANAGE_USERS)
        return self.accounts.list()

    def add_user(self, who: Principal, name: str, role: Role, password: str) -> User:
        """Create an account."""
        who.require(Permission.MANAGE_USERS)
        return self.accounts.add(name, role, password, actor=who.name)

    def set_disabled(self, who: Principal, name: str, *, disabled: bool) -> User:
        """Disable or re-enable an account (an admin cannot disable their own)."""
        who.require(Permission.MANAGE_USERS)
        if disabled and name == who.name:
            raise UserError("You cannot disable your own account.")
        return self.accounts.set_disabled(name, disabled, actor=who.name)

    def unlock(self, who: Principal, name: str) -> User:
        """Clear an account's lock after failed logins."""
        who.require(Permission.MANAGE_USERS)
        return self.accounts.unlock(name, actor=who.name)

    def tokens(self, who: Principal) -> list[ApiToken]:
        """Return every API token (never their secrets)."""
        who.require(Permission.MANAGE_USERS)
        return self.auth.tokens()

    def issue_token(
        self, who: Principal, user: str, *, label: str, role: Role | None, ttl_s: float | None
    ) -> tuple[ApiToken, str]:
        """Create an API token for `user`; its secret is returned this once."""
        who.require(Permission.MANAGE_USERS)
        return self.auth.issue_token(user, label=label, role=role, ttl_s=ttl_s, actor=who.name)

    def revoke_token(self, who: Principal, token_id: int) -> ApiToken:
        """Stop an API token from working."""
        who.require(Permission.MANAGE_USERS)
        return self.auth.revoke_token(token_id, actor=who.name)
