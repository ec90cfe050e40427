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

from control_plane.operations.audit_ops import AuditOperations
from control_plane.operations.data_ops import DataOperations
from control_plane.operations.fleet_ops import FleetOperations
from control_plane.operations.model_ops import ModelOperations
from control_plane.operations.risk_ops import RiskOperations


class Operations(FleetOperations, ModelOperations, RiskOperations, DataOperations, AuditOperations):
    """What people may see and do, each call checked against the permission table.

    One class per area (fleet_ops, model_ops, risk_ops, audit_ops), over `OperationsBase`.
    """
