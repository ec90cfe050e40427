"""What the load benchmark's agents send about decisions, and how a light agent checks a bundle.

Shared by the light agents (load_swarm.py) and the real links (load_links.py), so both report
decisions the same way, shaped as the agent's decision engine shapes them.
"""

from __future__ import annotations

import io
import tarfile
from typing import Final

from edgeward.bundles import MANIFEST_FILE, bundle_digest, parse_manifest
from edgeward.errors import EdgewardError
from edgeward.risk import Action, Decision, DecisionContext, RiskLevel
from edgeward.wire import ApprovalRequest, DecisionReport, JsonObject, WireMessage

HIGH_RISK_EVERY: Final = 10
APPROVAL_WAIT_S: Final = 120.0
"""How long a held decision waits for a person: short enough that some expire in the run."""


def decision_message(
    site: str, number: int, *, model_version: int | None, at: float
) -> list[WireMessage]:
    """Return what an agent sends for its `number`th decision, as its decision engine would.

    Every `HIGH_RISK_EVERY`th decision (the first, the eleventh, ...) is high risk: an
    approval request and a `held` report; the others are low risk and `executed`.
    """
    risk: RiskLevel = "high" if number % HIGH_RISK_EVERY == 1 else "low"
    decision = Decision(
        id=f"{site}.d{number}",
        site=site,
        action=Action.SLEEP_CELL if risk == "high" else Action.RAISE_ALARM,
        target=f"cell-{number % 12}",
        model_version=model_version,
        confidence=0.8,
        evidence={"prb_util_dl": 0.04, "users_active": 3.0},
        context=DecisionContext(hour=3, users_affected=3 if risk == "high" else 0),
        summary=f"load benchmark decision {number} at {site}",
    ).model_dump(mode="json")
    screening: JsonObject = {"level": risk, "layers": {"rules": risk}, "reasons": ["benchmark"]}
    outcome = "held" if risk == "high" else "executed"
    messages: list[WireMessage] = []
    if risk == "high":
        request: JsonObject = {
            "decision": decision,
            "screening": screening,
            "expires_at": at + APPROVAL_WAIT_S,
        }
        messages.append(
            ApprovalRequest(
                id=f"{decision['id']}.ask",
                decision_id=decision["id"],
                site=site,
                risk=risk,
                payload=request,
            )
        )
    report: JsonObject = {
        "decision": decision,
        "screening": screening,
        "outcome": outcome,
        "at": at,
    }
    messages.append(
        DecisionReport(
            id=f"{decision['id']}.{outcome}",
            decision_id=decision["id"],
            site=site,
            risk=risk,
            payload=report,
        )
    )
    return messages


def archive_digest(archive: bytes) -> str | None:
    """Return the digest of the bundle a delivered archive holds (None if it is unreadable).

    The digest covers the manifest, and the manifest the weights' own digest; a light agent
    stops there, where a real one also checks the weights, the signature and runs the model.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as members:
            manifest = members.extractfile(MANIFEST_FILE)
            if manifest is None:
                return None
            return bundle_digest(parse_manifest(manifest.read(), source=MANIFEST_FILE))
    except (tarfile.TarError, KeyError, EdgewardError):
        return None
