"""The demo's throwaway folder: a CA and identities, site stores with history, settings files.

Everything a deployment makes by hand (`edgeward certs init`, `certs issue-device`,
`agent enroll`, node keys, one settings file per role) is made here with the same Python
APIs, on loopback, in one folder that can be deleted afterwards. The demo is the one place in
`edgeward/` that reaches into the role packages: it stands the whole system up.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from edgeward.demo.options import DemoOptions


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(kw_only=True, slots=True, frozen=True)
class DemoLayout:
    """Where every part of the demo lives, and the ports it uses."""

    root: Path
    sites: tuple[str, ...]
    control_port: int
    dashboard_port: int
    superlink_port: int

    @property
    def pki(self) -> Path:
        """Return the control plane's PKI folder."""
        return self.root / "pki"

    @property
    def registry(self) -> Path:
        """Return the model registry folder."""
        return self.root / "registry"

    @property
    def control_config(self) -> Path:
        """Return the control plane's settings file."""
        return self.root / "control.toml"

    @property
    def control_db(self) -> Path:
        """Return the control plane's database."""
        return self.root / "control" / "control.db"

    @property
    def aggregator_config(self) -> Path:
        """Return the aggregator's settings file."""
        return self.root / "aggregator.toml"

    @property
    def aggregator_state(self) -> Path:
        """Return the aggregator's state folder (run outcomes and logs)."""
        return self.root / "aggregator"

    @property
    def dashboard_url(self) -> str:
        """Return the dashboard's address."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    def site_dir(self, site: str) -> Path:
        """Return a site's data folder."""
        return self.root / site

    def site_config(self, site: str) -> Path:
        """Return a site's settings file."""
        return self.root / f"{site}.toml"

    def node_keys(self) -> Path:
        """Return the folder of the SuperNodes' public keys the aggregator admits."""
        return self.root / "node-keys"

    def node_key(self, site: str, suffix: str) -> Path:
        """Return a site's SuperNode key file (`key` private, `pub` public)."""
        return self.site_dir(site) / "node" / f"{site}.node.{suffix}"


def new_layout(options: DemoOptions) -> DemoLayout:
    """Choose ports and names for a demo in `options.data_dir`."""
    return DemoLayout(
        root=options.data_dir,
        sites=tuple(f"site-{index + 1}" for index in range(options.sites)),
        control_port=free_port(),
        dashboard_port=free_port(),
        superlink_port=free_port(),
    )


def prepare_identities(
    layout: DemoLayout, options: DemoOptions, control_addresses: Mapping[str, str] | None = None
) -> None:
    """Make the CA, enroll every site, give each a SuperNode key and a simulated history.

    `control_addresses` gives a site another control-plane address in its enrollment bundle
    (under `--chaos`, the relay its link can be cut at); by default every site gets the PKI's.
    """
    from certs import create_node_keys, init_pki, issue_device
    from edge_agent.enrollment import enroll_device
    from edge_agent.learning.simulated_site import SimulatedHistory, fill_simulated_site

    pki = init_pki(layout.pki, control_plane_address=f"tcp://127.0.0.1:{layout.control_port}")
    now = time.time()
    for index, site in enumerate(layout.sites):
        bundle = layout.root / "bundles" / f"{site}.bundle"
        bundle.parent.mkdir(parents=True, exist_ok=True)
        address = (control_addresses or {}).get(site)
        issue_device(pki if address is None else replace(pki, control_plane_address=address),
                     site, out=bundle)  # fmt: skip
        enroll_device(bundle, layout.site_dir(site))
        keys = create_node_keys(layout.site_dir(site) / "node", site)
        layout.node_keys().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(keys.public_key, layout.node_keys() / keys.public_key.name)
        history = SimulatedHistory(
            site=site,
            seed=index,
            sources=options.sources,
            days=options.timings.history_days,
            end_ts=now - 60,
        )
        fill_simulated_site(layout.site_dir(site), history)
