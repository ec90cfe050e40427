"""The report's guarantees: measured checks that can fail, each from the component's records.

- `nothing_acknowledged_lost`: `messages_lost` is 0 (see `edgeward.demo.report`).
- `no_decision_ran_twice`: in every site's journal, no two executed decisions are the same
  event (same action, target and the reading that caused it); and every action the
  equipment saw on the broker belongs to a decision its journal says ran.
- `every_outcome_reported`: the control plane has heard the latest status of every decision
  in every site's journal (agents re-send an outcome whose report a full disk swallowed).
- `every_site_has_a_working_model`: each site's active model loads from its model store and
  forecasts finite values on the site's newest readings.
- `every_rollout_ended`: every rollout is in a final state (completed, rolled back, aborted).
- `every_fault_recovered` (with `--chaos`): every injected fault was undone and its target
  worked again.
- `every_kind_of_fault_injected` (with `--chaos`): the run did test every kind; a chaos run
  that ended before its faults began proves nothing and must not pass.

Each is `{"ok": true|false|null, ...}`; null means it does not apply (no model was ever
promoted, so no site could keep one) and does not fail the run.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

RAN = ("executed", "notified")
FAULT_KINDS = ("agent_kill", "aggregator_kill", "control_plane_kill", "link_drop", "disk_full")
"""Every `edgeward.demo.chaos.FaultKind`, as the report names them."""
FINAL_ROLLOUT_STATUSES = ("completed", "rolled_back", "aborted")
"""The rollout engine's final statuses (`control_plane.rollout.store.FINAL_STATUSES`)."""


def decisions_ran_twice(site_dir: Path, actions_seen: Counter[str]) -> dict[str, Any]:
    """Check one site's journal (and the actions seen on its topics) for a double run."""
    with sqlite3.connect(f"file:{site_dir / 'agent.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT id, action, target, json_extract(decision, '$.created_at'), status "
            "FROM decisions"
        ).fetchall()
    ran = {str(row[0]) for row in rows if row[4] in RAN}
    events = Counter((row[1], row[2], row[3]) for row in rows if row[4] in RAN)
    twice = [f"{action} on {target} at {at}" for (action, target, at), n in events.items() if n > 1]
    not_run = sorted(decision_id for decision_id in actions_seen if decision_id not in ran)
    return {
        "ran": len(ran),
        "same_event_ran_twice": twice,
        "actions_seen": len(actions_seen),
        "actions_redelivered": sum(n - 1 for n in actions_seen.values() if n > 1),
        "actions_without_a_run_in_the_journal": not_run,
    }


def working_model(site_dir: Path) -> dict[str, Any]:
    """Load a site's active model and forecast on its newest readings; say what failed."""
    from edge_agent.model_store import ModelStore
    from edgeward.models import FeatureStats, ModelSpec, model_from_arrays

    try:
        version = ModelStore(site_dir).state()["active"]
        if version is None:
            return {"ok": False, "version": None, "detail": "no active model"}
        bundle = ModelStore(site_dir).load(version).bundle
        spec = ModelSpec.from_dict(bundle.manifest.model_spec)
        stats = FeatureStats.from_dict(
            {k: float(v) for k, v in bundle.manifest.normalisation.items()},  # type: ignore[arg-type]
            spec.features,
        )
        window = _newest_window(site_dir, spec.features, spec.window)
        inputs = np.nan_to_num((window - stats.mean) / stats.std, nan=0.0).astype(np.float32)
        network = model_from_arrays(spec, bundle.arrays).eval()
        with torch.inference_mode():
            forecast = network(torch.from_numpy(inputs)[None])[0].numpy()
    except Exception as err:  # whatever breaks, the site has no working model: say why
        return {"ok": False, "version": None, "detail": f"{type(err).__name__}: {err}"[:300]}
    finite = bool(np.isfinite(forecast).all())
    return {
        "ok": finite,
        "version": version,
        "detail": "forecasts on its newest readings" if finite else "non-finite forecast",
    }


def _newest_window(site_dir: Path, features: tuple[str, ...], steps: int) -> np.ndarray:
    with sqlite3.connect(f"file:{site_dir / 'agent.db'}?mode=ro", uri=True) as conn:
        newest = conn.execute("SELECT source FROM readings ORDER BY ts_ms DESC LIMIT 1").fetchone()
        if newest is None:
            raise ValueError("the site has no readings")
        rows = conn.execute(
            "SELECT metrics FROM readings WHERE source = ? ORDER BY ts_ms DESC LIMIT ?",
            (newest[0], steps),
        ).fetchall()
    if len(rows) < steps:
        raise ValueError(f"only {len(rows)} readings of {newest[0]}, the model needs {steps}")
    values = [json.loads(row[0]) for row in reversed(rows)]
    return np.array(
        [[float(v.get(f, math.nan)) for f in features] for v in values], dtype=np.float64
    )


def rollouts_ended(rollouts: list[dict[str, Any]]) -> dict[str, Any]:
    """Check that every rollout is in a final state."""
    open_ = [
        {"rollout_id": r["id"], "version": r["version"], "status": r["status"]}
        for r in rollouts
        if r["status"] not in FINAL_ROLLOUT_STATUSES
    ]
    return {
        "ok": not open_,
        "by_status": dict(Counter(str(r["status"]) for r in rollouts)),
        "not_ended": open_,
    }


def judge(
    *,
    messages_lost: int,
    decisions: dict[str, dict[str, Any]],
    outcomes_not_reported: dict[str, Any],
    models: dict[str, dict[str, Any]],
    champion: int | None,
    rollouts: list[dict[str, Any]],
    faults: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Return every guarantee with its evidence; `all_hold` is False if any failed."""
    twice = {
        site: check
        for site, check in decisions.items()
        if check["same_event_ran_twice"] or check["actions_without_a_run_in_the_journal"]
    }
    guarantees: dict[str, Any] = {
        "nothing_acknowledged_lost": {"ok": messages_lost == 0, "messages_lost": messages_lost},
        "no_decision_ran_twice": {"ok": not twice, "sites": decisions},
        "every_outcome_reported": {
            "ok": not outcomes_not_reported,
            "not_reported": outcomes_not_reported,
        },
        "every_site_has_a_working_model": {
            "ok": all(m["ok"] for m in models.values()) if champion is not None else None,
            "champion": champion,
            "sites": models,
        },
        "every_rollout_ended": rollouts_ended(rollouts),
    }
    if faults is not None:
        failed = [f for f in faults if not f["recovered"]]
        guarantees["every_fault_recovered"] = {"ok": not failed, "not_recovered": failed}
        missing = sorted(set(FAULT_KINDS) - {str(f["kind"]) for f in faults})
        guarantees["every_kind_of_fault_injected"] = {"ok": not missing, "missing": missing}
    guarantees["all_hold"] = all(g["ok"] is not False for g in guarantees.values())
    return guarantees
