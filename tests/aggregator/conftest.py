"""A small simulated fleet, filled once per session, for in-process training runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge_agent.learning.simulated_site import SimulatedHistory, fill_simulated_site

FLEET_SITES = 5
END_TS = 1_796_300_000.0  # fixed, so every run of the suite sees the same data


@pytest.fixture(scope="session")
def fleet_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five sites with a day of one-minute readings each (different load shapes)."""
    root = tmp_path_factory.mktemp("fleet")
    for index in range(FLEET_SITES):
        fill_simulated_site(
            root / f"site-{index}",
            SimulatedHistory(
                site=f"site-{index}", seed=index, days=1.0, anomaly_rate=0.05, end_ts=END_TS
            ),
        )
    return root


@pytest.fixture
def fleet(fleet_template: Path, tmp_path: Path) -> dict[int, dict[str, str]]:
    """A private copy of the fleet (runs add holds to the stores) as node configs."""
    nodes = {}
    for index in range(FLEET_SITES):
        site = f"site-{index}"
        shutil.copytree(fleet_template / site, tmp_path / site)
        nodes[100 + index] = {"data-dir": str(tmp_path / site), "site": site}
    return nodes
