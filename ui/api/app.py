"""The HTTP API as its own FastAPI application, mounted by the dashboard at `API_PREFIX`."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI

from control_plane.operations import Operations
from ui.api import admin_routes, fleet_routes, model_routes, risk_routes
from ui.api.errors import DOCUMENTED_ERRORS, install_error_handlers

API_PREFIX: Final = "/api/v1"
API_VERSION: Final = "1.0.0"
DESCRIPTION: Final = """\
Edgeward's control plane: the fleet, models and rollouts, held decisions, the audit log and
accounts. Every request carries an API token (`Authorization: Bearer ew_...`); the token's
role (admin, operator, auditor) decides what it may do, by the same permission table as the
dashboard. Errors answer `{"error": "<sentence>"}`.
"""


def create_api(operations: Operations) -> FastAPI:
    """Return the API over `operations` (every endpoint runs in FastAPI's threadpool)."""
    api = FastAPI(
        title="Edgeward API",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        responses=DOCUMENTED_ERRORS,
    )
    api.state.operations = operations
    for module in (fleet_routes, model_routes, risk_routes, admin_routes):
        api.include_router(module.router)
    install_error_handlers(api)
    return api
