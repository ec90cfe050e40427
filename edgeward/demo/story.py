"""The story's scripted faults: nodes that overheat, and a degraded challenger.

Everything else in the story happens on its own (data flows, challengers train, the gate
promotes, the engine rolls out). The story adds what a real network would throw at it:

- once models run, a node somewhere overheats now and then (CPU 99 %): the policy proposes
  `restart_node`, which screens high, so the decision waits at the approval desk;
- once a champion exists, a degraded challenger is submitted to the registry inbox (the
  champion's weights with its output bias pushed far off, and the champion's stale
  evaluation, so the gate lets it through); the rollout engine must catch it live after the
  canary and roll it back by itself. If the gate's automatic start is taken by another
  rollout, the story promotes it through the API once the fleet is idle.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.bundles import RegistryLayout, read_bundle, submit_bundle
from edgeward.demo.operator import ApiClient
from edgeward.demo.options import StoryTimings
from edgeward.simulator.mqtt_link import parse_mqtt_url
from edgeward.simulator.profiles import source_name

log = logging.getLogger(__name__)
TICK_S = 1.0
PROMOTE_AFTER_S = 5.0


@dataclass(kw_only=True)
class StoryState:
    """What the story did, for the timeline and the report."""

    started_at: float = field(default_factory=time.time)
    overheats: int = 0
    overheats_acknowledged: int = 0
    degraded_submission: str | None = None
    degraded_version: int | None = None
    degraded_at: float | None = None
    events: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Story:
    """Inject the story's faults at the right moments, in a background thread."""

    def __init__(
        self,
        *,
        api: ApiClient,
        registry: Path,
        broker_url: str,
        mqtt_v311: bool,
        sites: tuple[str, ...],
        sources: int,
        timings: StoryTimings,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.api = api
        self.registry = registry
        self.sites = sites
        self.sources = sources
        self.timings = timings
        self.state = StoryState()
        self._on_event = on_event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-story", daemon=True)
        address = parse_mqtt_url(broker_url)
        self._mqtt = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="edgeward-demo-story",
            protocol=mqtt.MQTTv311 if mqtt_v311 else mqtt.MQTTv5,
        )
        self._mqtt_address = address
        self._champion_seen_at: float | None = None
        self._next_overheat = 0.0
        self._rollouts: dict[int, str] = {}

    def event(self, text: str) -> None:
        """Record a moment of the story."""
        self.state.events.append((time.time(), text))
        log.info("story: %s", text)
        if self._on_event is not None:
            self._on_event(text)

    def start(self) -> None:
        """Connect the story's MQTT client and start its thread."""
        self._mqtt.connect(self._mqtt_address.host, self._mqtt_address.port)
        self._mqtt.loop_start()
        self._thread.start()

    def stop(self) -> None:
        """Stop injecting faults."""
        self._stop.set()
        self._thread.join(30)
        self._mqtt.loop_stop()
        self._mqtt.disconnect()

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self._tick()
            except httpx.HTTPError as err:
                log.info("story: the API is not answering yet (%s)", err)
            except Exception as err:  # one bad tick must not end the story
                log.exception("story step failed")
                self.state.errors.append(f"story: {err}")

    def _tick(self) -> None:
        overview = self.api.get("/overview")
        self._follow_rollouts()
        if overview["champion"] is None:
            return
        now = time.monotonic()
        if self._champion_seen_at is None:
            self._champion_seen_at = now
            self._next_overheat = now + self.timings.overheat_every_s
        if now >= self._next_overheat:
            self._next_overheat = now + self.timings.overheat_every_s
            self._overheat()
        if now - self._champion_seen_at >= self.timings.degrade_after_promotion_s:
            self._degrade(overview)

    def _follow_rollouts(self) -> None:
        """Tell of every rollout that started or changed state since the last look."""
        for rollout in sorted(self.api.get("/rollouts", limit=20), key=lambda r: int(r["id"])):
            key = int(rollout["id"])
            if self._rollouts.get(key) == rollout["status"]:
                continue
            self._rollouts[key] = str(rollout["status"])
            reason = f": {rollout['reason']}" if rollout["reason"] else ""
            self.event(
                f"rollout #{key} of version {rollout['version']} {rollout['status']}{reason}"
            )

    def _overheat(self) -> None:
        index = self.state.overheats
        site = self.sites[index % len(self.sites)]
        source = source_name(site, (index // len(self.sites)) % self.sources)
        payload = {
            "ts": time.time(),
            "source": source,
            "metrics": {"prb_util_dl": 40.0, "active_users": 60, "cpu_pct": 99.0},
        }
        info = self._mqtt.publish(f"edgeward/{site}/{source}/metrics", json.dumps(payload), qos=1)
        self.state.overheats += 1
        info.wait_for_publish(10)
        if info.is_published():
            self.state.overheats_acknowledged += 1
        self.event(f"{source} overheats (CPU 99 %): its restart will need a person")

    def _degrade(self, overview: dict[str, Any]) -> None:
        if self.state.degraded_submission is None:
            if overview["active_rollout"] is None:
                self._submit_degraded(int(overview["champion"]))
            return
        if self.state.degraded_version is None:
            self.state.degraded_version = self._registered_version()
            return
        version = self.state.degraded_version
        rollouts = self.api.get("/rollouts", limit=50)
        if any(r["version"] == version for r in rollouts):
            return
        held = self.api.get("/approvals", status="pending", limit=100)
        if any((a["decision"].get("parameters") or {}).get("version") == version for a in held):
            return  # its promotion waits for a person
        idle = overview["active_rollout"] is None
        waited = time.time() - (self.state.degraded_at or time.time())
        if idle and waited > PROMOTE_AFTER_S:
            self.api.post(
                f"/models/{version}/promote",
                {"reason": "demo: roll out the injected challenger (it looks good on paper)"},
            )
            self.event(f"version {version} promoted through the API")

    def _submit_degraded(self, champion: int) -> None:
        good = read_bundle(self.registry / "models" / str(champion))
        arrays = {name: np.array(array, copy=True) for name, array in good.arrays.items()}
        head = [name for name in arrays if name.endswith("bias")][-1]
        arrays[head] = arrays[head] + np.float32(self.timings.degrade_bias)
        manifest = good.manifest
        self.state.degraded_submission = submit_bundle(
            RegistryLayout(self.registry),
            arrays=arrays,
            name="degraded-challenger",
            schema_hash=manifest.schema_hash,
            model_spec=dict(manifest.model_spec),
            normalisation=dict(manifest.normalisation),
            lineage={**manifest.lineage, "demo": "degraded on purpose"},
            metrics=dict(manifest.metrics),
            parent_version=champion,
        )
        self.state.degraded_at = time.time()
        self.event(f"a degraded challenger is submitted (from champion v{champion})")

    def _registered_version(self) -> int | None:
        for model in self.api.get("/models"):
            if model.get("submission") == self.state.degraded_submission:
                self.event(f"the degraded challenger is registered as version {model['version']}")
                return int(model["version"])
        return None
