"""Installed model versions on the agent, and which one is active.

Layout under `<data-dir>/models/`:

- `<version>/`: an installed bundle (manifest.json, weights.safetensors), never modified.
- `state.json`: `{"active": v, "previous": v}` — replaced atomically (written to a temporary
  file, synced, renamed, and the folder synced), so after a crash it names either the old or
  the new model, never half of one. `previous` is the last known good model.
- `.staging-*`: bundles being unpacked and checked; left over only by a crash, removed at start.

A version folder is complete before `state.json` ever names it, so the active model is always
whole; if it was damaged since (disk error), `recover()` falls back to the previous one.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgeward.bundles import Bundle, BundleError, read_bundle
from edgeward.bundles.durable import replace_file

log = logging.getLogger(__name__)
STATE_FILE = "state.json"
STAGING_PREFIX = ".staging-"


@dataclass(kw_only=True, slots=True, frozen=True)
class InstalledModel:
    """A verified, installed version."""

    version: int
    bundle: Bundle


class ModelStore:
    """The versions on this device and the active/previous pointers."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "models"
        self.root.mkdir(parents=True, exist_ok=True)

    def version_dir(self, version: int) -> Path:
        """Return where a version is (or would be) installed."""
        return self.root / str(version)

    def state(self) -> dict[str, int | None]:
        """Return the active and previous versions (None when there is none)."""
        path = self.root / STATE_FILE
        if not path.exists():
            return {"active": None, "previous": None}
        data = json.loads(path.read_text())
        return {"active": data.get("active"), "previous": data.get("previous")}

    def installed(self) -> list[int]:
        """Return the installed versions, oldest first."""
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

    def load(self, version: int) -> InstalledModel:
        """Read and verify an installed version (raises `BundleError` if it is damaged)."""
        return InstalledModel(version=version, bundle=read_bundle(self.version_dir(version)))

    def active(self) -> InstalledModel | None:
        """Return the active model, or None before the first activation."""
        version = self.state()["active"]
        return self.load(version) if version is not None else None

    def switch(self, version: int) -> None:
        """Make `version` active and the current one the last known good (atomically)."""
        current = self.state()["active"]
        previous = current if current != version else self.state()["previous"]
        self._write_state({"active": version, "previous": previous})

    def roll_back(self) -> int:
        """Make the last known good model active again; return its version."""
        state = self.state()
        if state["previous"] is None:
            raise BundleError("there is no previous model to roll back to")
        self._write_state({"active": state["previous"], "previous": state["active"]})
        return int(state["previous"])

    def recover(self) -> int | None:
        """Tidy after a crash and make sure the active model is whole; return its version.

        Half-unpacked staging folders are removed. If the active version cannot be read, the
        previous one is activated instead, and if neither can, there is no active model.
        """
        for leftover in self.root.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.root.glob(".tmp-*"):  # a state.json write cut short
            leftover.unlink(missing_ok=True)
        state = self.state()
        for candidate in (state["active"], state["previous"]):
            if candidate is None:
                continue
            try:
                self.load(candidate)
            except BundleError as err:
                log.error(
                    "installed model %s is damaged (%s); trying the previous one", candidate, err
                )
                continue
            if candidate != state["active"]:
                self._write_state({"active": candidate, "previous": None})
            return candidate
        if state["active"] is not None:
            self._write_state({"active": None, "previous": None})
        return None

    def _write_state(self, state: dict[str, int | None]) -> None:
        replace_file(self.root / STATE_FILE, json.dumps(state).encode())
