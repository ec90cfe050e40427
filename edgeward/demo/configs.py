"""The settings files of the demo's control plane, aggregator and sites, written as TOML.

The gate is opened wide (a challenger is promoted unless it is evaluated on too few sites) so
that the story does not hinge on whether a round or two of training beats the champion; the
rollout engine's live check is what catches the degraded challenger. Every other key is a
deployment's own, with the story's short timings.
"""

from __future__ import annotations

from collections.abc import Mapping

from edgeward.demo.layout import DemoLayout, free_port
from edgeward.demo.options import DemoOptions

CHALLENGERS = (("mlp-fedavg", "fedavg"), ("mlp-median", "median"))
"""Small challengers trained side by side: (name, strategy), all MLPs."""


def write_configs(
    layout: DemoLayout,
    options: DemoOptions,
    broker_url: str,
    site_broker_urls: Mapping[str, str] | None = None,
) -> None:
    """Write control.toml, aggregator.toml and one <site>.toml per site.

    `site_broker_urls` points a site at another broker address (its relay under `--chaos`).
    """
    layout.control_config.write_text(_control(layout, options))
    layout.aggregator_config.write_text(_aggregator(layout, options))
    for site in layout.sites:
        url = (site_broker_urls or {}).get(site, broker_url)
        layout.site_config(site).write_text(_site(layout, options, site, url))


def _control(layout: DemoLayout, options: DemoOptions) -> str:
    timings = options.timings
    return f"""
[control]
state_dir = "{layout.root / "control"}"
registry_dir = "{layout.registry}"
pki_dir = "{layout.pki}"
bind = "tcp://127.0.0.1:{layout.control_port}"
heartbeat_interval_s = {timings.heartbeat_s}
import_interval_s = 1.0
tick_interval_s = 0.5
log_level = "INFO"

[control.gate]
min_sites = {min(2, options.sites)}
min_improvement = -1.0
min_win_share = 0.0
significance = 1.0
max_site_regression = 10.0
max_quarantine_rate = 1.0

[control.rollout]
canary_fraction = {1.0 / max(options.sites, 1):.4f}
waves = [1.0]
bake_s = {timings.bake_s}
regression_threshold = 1.0
activation_timeout_s = 120.0
min_samples = {timings.min_samples}
max_bake_extension_s = 30.0
offer_resend_s = 3.0

[control.risk]
screen_promotions = true
hold_s = {timings.approval_timeout_s * 4}

[control.dashboard]
host = "127.0.0.1"
port = {layout.dashboard_port}
"""


def _aggregator(layout: DemoLayout, options: DemoOptions) -> str:
    timings = options.timings
    text = f"""
[aggregator]
state_dir = "{layout.aggregator_state}"
registry_dir = "{layout.registry}"
host = "127.0.0.1"
port = {layout.superlink_port}
ca_file = "{layout.pki / "ca.pem"}"
cert_file = "{layout.pki / "superlink.pem"}"
key_file = "{layout.pki / "superlink.key"}"
supernode_auth = true
supernode_keys_dir = "{layout.node_keys()}"
interval_s = {timings.aggregator_interval_s}
min_new_rows = 0
min_nodes = {options.sites}
run_timeout_s = {timings.round_timeout_s * (timings.rounds + 3)}
"""
    for name, strategy in CHALLENGERS:
        text += f"""
[[aggregator.challengers]]
name = "{name}"
model = "mlp"
strategy = "{strategy}"
rounds = {timings.rounds}
options = {{ hidden = 32, round-timeout-s = {timings.round_timeout_s}, node-wait-s = 60.0 }}
"""
    return text


def _site(layout: DemoLayout, options: DemoOptions, site: str, broker_url: str) -> str:
    timings = options.timings
    protocol = "v311" if options.mqtt_url is None else "v5"  # amqtt speaks MQTT 3.1.1
    return f"""
[agent]
site = "{site}"
data_dir = "{layout.site_dir(site)}"
log_level = "INFO"

[agent.mqtt]
url = "{broker_url}"
protocol = "{protocol}"

[agent.store]
synchronous = "normal"

[agent.learning]
superlink = "127.0.0.1:{layout.superlink_port}"
root_certificates = "{layout.pki / "ca.pem"}"
runtime_port = {free_port()}
restart_min_s = 0.5
auth_private_key = "{layout.node_key(site, "key")}"
auth_public_key = "{layout.node_key(site, "pub")}"

[agent.control]
heartbeat_interval_s = {timings.heartbeat_s}
live_quality_interval_s = {timings.heartbeat_s}

[agent.decisions]
peak_hours = []
cooldown_s = {timings.decision_cooldown_s}
approval_timeout_s = {timings.approval_timeout_s}
expiry_interval_s = 1.0
llm_enabled = {"true" if options.llm else "false"}
"""
