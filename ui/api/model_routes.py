"""Endpoints for models and rollouts: versions, promotion; pause, resume, abort, roll back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from control_plane.operations import Operations
from control_plane.rollout import RolloutError
from ui.api import schemas
from ui.api.auth import Caller, Ops
from ui.api.errors import NotFound
from ui.api.params import RolloutPath, VersionPath

router = APIRouter()


@router.get("/models", response_model=list[schemas.Model], tags=["models"])
def models(ops: Ops, who: Caller) -> list[dict[str, Any]]:
    """Return every registered version, newest first, with its aliases."""
    return [model.to_dict() for model in ops.models(who)]


@router.get("/models/{version}", response_model=schemas.ModelDetail, tags=["models"])
def model(version: VersionPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Return one version with its manifest: metrics per site and lineage."""
    return {**ops.model(who, version).to_dict(), "manifest": ops.manifest(who, version)}


@router.post("/models/{version}/promote", response_model=schemas.Promoted, tags=["models"])
def promote(version: VersionPath, body: schemas.PromoteBody, ops: Ops, who: Caller) -> Any:
    """Judge a version with the promotion gate and start its rollout (`force`: admin only)."""
    rollout_id, report = ops.promote(who, version, reason=body.reason, force=body.force)
    return {"rollout_id": rollout_id, "gate": report.to_dict()}


@router.get("/rollouts", response_model=list[schemas.Rollout], tags=["rollouts"])
def rollouts(
    ops: Ops, who: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """Return the newest rollouts, newest first."""
    return [rollout.to_dict() for rollout in ops.rollouts(who, limit=limit)]


@router.get("/rollouts/{rollout_id}", response_model=schemas.Rollout, tags=["rollouts"])
def rollout(rollout_id: RolloutPath, ops: Ops, who: Caller) -> dict[str, Any]:
    """Return one rollout with its waves and sites."""
    try:
        return ops.rollout(who, rollout_id).to_dict()
    except RolloutError as err:
        raise _missing(ops, rollout_id, err) from err


Steer = Callable[..., object]


def _steer(ops: Operations, who: Any, rollout_id: int, action: Steer, reason: str) -> Any:
    try:
        action(who, rollout_id, reason=reason)
    except RolloutError as err:
        raise _missing(ops, rollout_id, err) from err
    return ops.rollout(who, rollout_id).to_dict()


def _missing(ops: Operations, rollout_id: int, err: RolloutError) -> Exception:
    """Return a 404 when the rollout does not exist, else `err` (a conflict) itself."""
    if ops.plane.engine.store.get(rollout_id) is None:
        return NotFound(f"There is no rollout {rollout_id}.")
    return err


@router.post("/rollouts/{rollout_id}/pause", response_model=schemas.Rollout, tags=["rollouts"])
def pause(rollout_id: RolloutPath, body: schemas.ReasonBody, ops: Ops, who: Caller) -> Any:
    """Pause a running rollout: no new wave starts until it is resumed."""
    return _steer(ops, who, rollout_id, ops.pause, body.reason)


@router.post("/rollouts/{rollout_id}/resume", response_model=schemas.Rollout, tags=["rollouts"])
def resume(rollout_id: RolloutPath, body: schemas.ReasonBody, ops: Ops, who: Caller) -> Any:
    """Resume a paused rollout."""
    return _steer(ops, who, rollout_id, ops.resume, body.reason)


@router.post("/rollouts/{rollout_id}/abort", response_model=schemas.Rollout, tags=["rollouts"])
def abort(rollout_id: RolloutPath, body: schemas.ReasonBody, ops: Ops, who: Caller) -> Any:
    """Stop a rollout and send the touched sites back to their previous model."""
    return _steer(ops, who, rollout_id, ops.abort, body.reason)


@router.post("/rollouts/{rollout_id}/rollback", response_model=schemas.Rollout, tags=["rollouts"])
def rollback(rollout_id: RolloutPath, body: schemas.ReasonBody, ops: Ops, who: Caller) -> Any:
    """Roll a rollout back, even a completed one (the champion moves back too)."""
    return _steer(ops, who, rollout_id, ops.roll_back, body.reason)
