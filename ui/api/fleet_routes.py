"""Endpoints for the caller, the overview, the fleet and its data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from control_plane.access import Permission
from control_plane.operations import QUARANTINE_PREFIX, SiteView
from ui.api import schemas
from ui.api.auth import Caller, Ops
from ui.api.errors import Conflict, NotFound
from ui.api.params import SitePath

router = APIRouter(tags=["fleet"])


@router.get("/whoami", response_model=schemas.Whoami)
def whoami(who: Caller) -> dict[str, Any]:
    """Return who the token speaks for and what it may do."""
    granted = [permission.value for permission in Permission if who.can(permission)]
    return {"name": who.name, "role": who.role, "via": who.via, "permissions": granted}


@router.get("/overview", response_model=schemas.Overview)
def overview(ops: Ops, who: Caller) -> dict[str, Any]:
    """Return the whole system at a glance."""
    return ops.overview(who).to_dict()


@router.get("/sites", response_model=list[schemas.Site])
def sites(ops: Ops, who: Caller) -> list[dict[str, Any]]:
    """Return every site: its last report, active model and enrollment state."""
    return [site.to_dict() for site in ops.sites(who)]


@router.post("/sites/{site}/revoke", response_model=schemas.Site)
def revoke_site(site: SitePath, body: schemas.SiteRevokeBody, ops: Ops, who: Caller) -> Any:
    """Cut a site off: the control plane refuses its connection from now on."""
    who.require(Permission.REVOKE_SITE)
    found = _site(ops.sites(who), site)
    if found.enrollment == "unknown":
        raise NotFound(f"Site {site} reports but has no enrollment to revoke.")
    if found.enrollment == "revoked":
        raise Conflict(f"Site {site} is already revoked.")
    ops.revoke_site(who, site, reason=body.reason)
    return _site(ops.sites(who), site).to_dict()


@router.get("/data", response_model=schemas.DataSummary)
def data(ops: Ops, who: Caller) -> dict[str, Any]:
    """Return ingest rates per site and the fleet's quarantine by reason."""
    views = ops.sites(who)
    summary = ops.fleet_summary(who)
    return {
        "ingest_rate": summary.ingest_rate,
        "quarantine_rate": summary.quarantine_rate,
        "quarantine_by_reason": ops.quarantine_by_reason(who),
        "sites": [_site_data(view) for view in views if view.last_seen],
    }


def _site(views: list[SiteView], site: str) -> SiteView:
    found = next((view for view in views if view.site == site), None)
    if found is None:
        raise NotFound(f"There is no site {site}.")
    return found


def _site_data(view: SiteView) -> dict[str, Any]:
    return {
        "site": view.site,
        "ingest_rate": view.health.get("ingest_rate", 0.0),
        "quarantine_rate": view.health.get("quarantine_rate", 0.0),
        "quarantined": {
            key.removeprefix(QUARANTINE_PREFIX): value
            for key, value in view.health.items()
            if key.startswith(QUARANTINE_PREFIX)
        },
    }
