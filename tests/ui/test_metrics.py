"""/metrics: Prometheus text over the control plane's state, for a token that may view it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from control_plane.access import Role
from tests.ui.api_client import ApiFixture, api_over, bearer
from ui.metrics import add_metrics_route


@pytest.fixture
def scraped(tmp_path: Path) -> tuple[ApiFixture, TestClient]:
    """Return the API's fixture and a client on an app serving /metrics over it."""
    api = api_over(tmp_path)
    app = FastAPI()
    add_metrics_route(app, api.operations)
    return api, TestClient(app)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_scrape_the_state(
    scraped: tuple[ApiFixture, TestClient], role: Role
) -> None:
    api, client = scraped
    response = client.get("/metrics", headers=api.headers[role])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[("edgeward_fleet_sites", ())] == 3
    assert samples[("edgeward_fleet_sites_online", ())] == 3
    assert samples[("edgeward_fleet_sites_on_champion", ())] == 3
    assert samples[("edgeward_fleet_sites_revoked", ())] == 0
    assert samples[("edgeward_ingest_records_per_second", ())] == 33.0
    assert samples[("edgeward_quarantine_rate", ())] == pytest.approx(0.01)
    assert samples[("edgeward_quarantined_records", (("reason", "range"),))] == 9
    assert samples[("edgeward_site_live_mae", (("site", "site-b"),))] == pytest.approx(0.11)
    assert samples[("edgeward_site_ingest_records_per_second", (("site", "site-c"),))] == 12
    assert samples[("edgeward_site_online", (("site", "site-a"),))] == 1
    assert samples[("edgeward_rollout_active", ())] == 1
    info = (("id", "1"), ("status", "running"), ("version", "2"))
    assert samples[("edgeward_rollout_info", info)] == 1
    assert samples[("edgeward_rollout_sites", ())] == 3
    assert samples[("edgeward_approvals_pending", ())] == 2
    assert samples[("edgeward_champion_version", ())] == 1
    assert samples[("edgeward_screener_judged", ())] == 0


def test_verdicts_show_in_the_screener_and_approvals(
    scraped: tuple[ApiFixture, TestClient],
) -> None:
    api, client = scraped
    admin = api.operations.auth.bearer(api.headers[Role.ADMIN]["Authorization"].split()[1])
    api.operations.deny(admin, "d-high", comment="not at peak hour")
    api.operations.abort(admin, 1, reason="enough")
    samples = _samples(client.get("/metrics", headers=api.headers[Role.AUDITOR]).text)
    assert samples[("edgeward_approvals_pending", ())] == 1
    assert samples[("edgeward_screener_judged", ())] == 1
    assert ("edgeward_screener_accuracy", ()) in samples
    assert samples[("edgeward_rollout_active", ())] == 0


@pytest.mark.parametrize(
    ("headers", "sentence"),
    [
        ({}, "Send an API token"),
        (bearer("ew_nobody"), "not valid"),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "Send an API token"),
    ],
)
def test_a_scrape_without_a_valid_token_is_refused(
    scraped: tuple[ApiFixture, TestClient], headers: dict[str, str], sentence: str
) -> None:
    _, client = scraped
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert sentence in response.json()["error"]


def test_the_route_is_replaced_not_duplicated(scraped: tuple[ApiFixture, TestClient]) -> None:
    api, _ = scraped
    app = FastAPI()
    add_metrics_route(app, api.operations)
    add_metrics_route(app, api.operations)
    assert [getattr(r, "path", None) for r in app.routes].count("/metrics") == 1
