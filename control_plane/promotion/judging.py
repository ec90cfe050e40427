"""Judge a registered version against the current champion, and put the verdict on record."""

from __future__ import annotations

from control_plane.promotion.gate import GateConfig, GateReport, evaluate_gate
from control_plane.registry import ModelRegistry
from control_plane.state import AuditLog
from edgeward.bundles import CHAMPION, read_bundle


def judge_version(
    registry: ModelRegistry, audit: AuditLog, version: int, config: GateConfig, *, actor: str
) -> GateReport:
    """Run the gate on `version` with its stored evaluation; record the verdict in the audit log."""
    manifest = read_bundle(registry.get(version).path).manifest
    champion = registry.alias(CHAMPION)
    report = evaluate_gate(
        challenger_version=version,
        champion_version=champion.version if champion else None,
        metrics=dict(manifest.metrics),
        lineage=dict(manifest.lineage),
        config=config,
    )
    audit.record(
        actor=actor,
        action="gate.pass" if report.passed else "gate.fail",
        subject=f"version {version}",
        detail=report.to_dict(),
    )
    return report
