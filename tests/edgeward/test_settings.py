"""Settings: file, environment and flags in that order; one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.settings import AgentSettings, load_agent_settings
from edgeward.errors import SettingsError
from edgeward.settings import env_var_for, load_settings

CONFIG = """
[agent]
site = "site-a"
data_dir = "/var/lib/edgeward"

[agent.mqtt]
url = "mqtts://broker.example:8883"
ca_file = "/etc/edgeward/ca.pem"

[[agent.prometheus]]
url = "http://127.0.0.1:9100/metrics"
source = "bbu-1"
include = ["node_hwmon_temp_celsius.*"]

[control]
this_table = "belongs to another role and is ignored by the agent"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "edgeward.toml"
    path.write_text(CONFIG)
    return path


def load(config: Path | None, env: dict[str, str] | None = None, **flags: object) -> AgentSettings:
    return load_settings(
        AgentSettings, role="agent", config_file=config, flags=flags, environ=env or {}
    )


def test_file_values_and_defaults(config: Path) -> None:
    settings = load(config)
    assert settings.site == "site-a"
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.use_tls) == (
        "broker.example",
        8883,
        True,
    )
    assert settings.prometheus[0].interval_s == 15.0
    assert settings.mqtt_topics == ("edgeward/site-a/+/metrics",)
    assert settings.mqtt_client_id == "edgeward-agent-site-a"
    assert settings.retention.readings_days == 7


def test_environment_overrides_file_and_flags_override_both(config: Path) -> None:
    env = {
        "EDGEWARD_AGENT__SITE": "from-env",
        "EDGEWARD_AGENT__MQTT__KEEPALIVE_S": "45",
        "EDGEWARD_AGENT__MQTT__TOPICS": '["a/+/m", "b/+/m"]',
        "UNRELATED": "x",
    }
    settings = load(config, env)
    assert (settings.site, settings.mqtt.keepalive_s) == ("from-env", 45)
    assert settings.mqtt.topics == ("a/+/m", "b/+/m")
    assert load(config, env, site="from-flag").site == "from-flag"
    assert load(config, env, site=None).site == "from-env", "an unset flag changes nothing"


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        (
            {},
            {"mqtt.url": "http://x"},
            "setting 'mqtt.url' (from command line): must start with mqtt:// or mqtts://",
        ),
        (
            {"EDGEWARD_AGENT__MQTT__KEEPALIVE_S": "soon"},
            {},
            "setting 'mqtt.keepalive_s' (from environment EDGEWARD_AGENT__MQTT__KEEPALIVE_S): "
            "Input should be a valid integer",
        ),
        (
            {"EDGEWARD_AGENT__MQTT__URLL": "mqtt://x"},
            {},
            "setting 'mqtt.urll' (from environment EDGEWARD_AGENT__MQTT__URLL): unknown setting",
        ),
        ({}, {"site": "no spaces please"}, "setting 'site' (from command line): String should"),
        ({}, {"mqtt.cert_file": "/c.pem"}, "cert_file and key_file must be given together"),
        ({}, {"retention.readings_days": -1}, "setting 'retention.readings_days'"),
    ],
)
def test_bad_values_name_the_key_and_the_source(
    config: Path, env: dict[str, str], flags: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(config, env, **flags)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_required_setting_says_how_to_give_it() -> None:
    with pytest.raises(SettingsError, match="EDGEWARD_AGENT__SITE"):
        load(None, data_dir="/tmp/x")


def test_bad_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_agent_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[agent\nsite=1")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_agent_settings(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('agent = "not a table"')
    with pytest.raises(SettingsError, match=r"\[agent\] must be a table"):
        load_agent_settings(wrong)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[agent]\nsite = "s"\ndata_dir = "/d"\n[agent.mqtt]\nqos = 2\n')
    with pytest.raises(SettingsError, match=rf"'mqtt.qos' \(from file {unknown}\): unknown"):
        load_agent_settings(unknown)


def test_env_var_names() -> None:
    assert env_var_for("agent", "mqtt.ca_file") == "EDGEWARD_AGENT__MQTT__CA_FILE"
