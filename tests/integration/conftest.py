"""Real components for integration tests: a throwaway PKI, a TLS mosquitto, an agent process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certs import IssuedCertificate, create_authority
from tests.support.agent_process import AgentProcess
from tests.support.mosquitto import BrokerTls, Mosquitto, start_mosquitto

SITE = "site-a"


@dataclass(kw_only=True, slots=True, frozen=True)
class Pki:
    """Certificates for the broker, the agent and the publishers."""

    broker: IssuedCertificate
    agent: IssuedCertificate
    publisher: IssuedCertificate


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    authority = create_authority(tmp_path / "pki")
    return Pki(
        broker=authority.issue_server(
            "broker", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
        ),
        agent=authority.issue_client(SITE),
        publisher=authority.issue_client("publisher"),
    )


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki) -> Iterator[Mosquitto]:
    broker = start_mosquitto(
        tmp_path / "broker",
        tls=BrokerTls(
            ca_file=pki.broker.ca_path,
            cert_file=pki.broker.cert_path,
            key_file=pki.broker.key_path,
            require_certificate=True,
        ),
    )
    yield broker
    broker.stop()


@pytest.fixture
def agent(tmp_path: Path, pki: Pki, tls_broker: Mosquitto) -> Iterator[AgentProcess]:
    data_dir = tmp_path / "agent"
    config = tmp_path / "agent.toml"
    config.write_text(
        f"""
[agent]
site = "{SITE}"
data_dir = "{data_dir}"
log_level = "INFO"

[agent.mqtt]
url = "{tls_broker.url}"
ca_file = "{pki.agent.ca_path}"
cert_file = "{pki.agent.cert_path}"
key_file = "{pki.agent.key_path}"
"""
    )
    process = AgentProcess(config, data_dir, tmp_path / "agent.log")
    yield process
    if process.running:
        process.kill_all()
