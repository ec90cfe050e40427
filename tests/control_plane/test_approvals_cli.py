"""`edgeward approvals list|show|approve|deny` over the control plane's state on this host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_plane.approvals import ApprovalClosed, ApprovalNotFound, OverrideRequired
from control_plane.local import open_local
from edgeward.cli.main import cli, run
from edgeward.wire import Ack
from tests.control_plane.test_approvals import SITE, approval_request, decision_report


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Return a settings file whose state holds two pending requests and a report."""
    path = tmp_path / "control.toml"
    path.write_text(
        f"""
[control]
state_dir = "{tmp_path / "state"}"
registry_dir = "{tmp_path / "registry"}"
pki_dir = "{tmp_path / "pki"}"
"""
    )
    intake = open_local(path).approvals.intake
    far = 4_000_000_000.0  # requests that will not expire while the tests run
    for decision_id, risk in (("d-high", "high"), ("d-crit", "critical")):
        request = approval_request(decision_id, risk=risk, expires_at=far)
        assert isinstance(intake.request(SITE, request), Ack)
    assert isinstance(intake.report(SITE, decision_report("d-high", "held")), Ack)
    return path


def invoke(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(cli, ["approvals", *args], terminal_width=200)
    return result.exit_code, result.output, result.exception


def test_help_lists_the_commands() -> None:
    code, output, _ = invoke("--help")

    assert code == 0
    for command in ("list", "show", "approve", "deny"):
        assert command in output


def test_list_json_has_the_pending_requests_oldest_first(config: Path) -> None:
    code, output, _ = invoke("list", "--config", str(config), "--json")

    assert code == 0, output
    listed = json.loads(output)
    assert [(a["decision_id"], a["risk"], a["status"]) for a in listed] == [
        ("d-high", "high", "pending"),
        ("d-crit", "critical", "pending"),
    ]
    assert listed[0]["decision"]["action"] == "sleep_cell"
    assert listed[0]["screening"]["level"] == "high"
    assert set(listed[0]) >= {"site", "requested_at", "expires_at", "actor", "comment", "override"}


def test_list_prints_a_table(config: Path) -> None:
    code, output, _ = invoke("list", "--config", str(config))

    assert code == 0, output
    assert "Decisions waiting for a verdict" in output
    assert "d-high" in output
    assert "sleep_cell" in output


def test_approve_then_deny_and_list_all(config: Path) -> None:
    approved = invoke(
        "approve", "d-high", "--comment", "off-peak soon", "--actor", "alice", "--config",
        str(config), "--json",
    )  # fmt: skip
    denied = invoke("deny", "d-crit", "--comment", "not now", "--config", str(config))

    assert approved[0] == 0, approved[1]
    verdict = json.loads(approved[1])
    assert (verdict["status"], verdict["actor"], verdict["comment"]) == (
        "approved",
        "alice",
        "off-peak soon",
    )
    assert denied[0] == 0, denied[1]
    assert "decision d-crit denied" in denied[1]
    assert json.loads(invoke("list", "--config", str(config), "--json")[1]) == []
    everything = json.loads(invoke("list", "--all", "--config", str(config), "--json")[1])
    assert [(a["decision_id"], a["status"]) for a in everything] == [
        ("d-crit", "denied"),
        ("d-high", "approved"),
    ]
    assert everything[0]["actor"].startswith("cli:")
    only_denied = invoke("list", "--status", "denied", "--config", str(config), "--json")[1]
    assert [a["decision_id"] for a in json.loads(only_denied)] == ["d-crit"]
    audit = open_local(config).audit.entries()
    assert [(e.action, e.actor) for e in audit[-2:]] == [
        ("approval.approve", "alice"),
        ("approval.deny", everything[0]["actor"]),
    ]


def test_a_critical_decision_needs_the_override_flag(config: Path) -> None:
    code, _, error = invoke("approve", "d-crit", "--comment", "go", "--config", str(config))

    assert code != 0
    assert isinstance(error, OverrideRequired)
    assert str(error) == (
        "decision d-crit is critical, and critical decisions run only with an admin override"
    )

    code, output, _ = invoke(
        "approve", "d-crit", "--comment", "go", "--override", "--config", str(config), "--json"
    )

    assert code == 0, output
    assert json.loads(output)["override"] is True


def test_show_json_has_decision_screening_verdict_and_reports(config: Path) -> None:
    invoke("deny", "d-high", "--comment", "peak hour", "--actor", "bob", "--config", str(config))

    code, output, _ = invoke("show", "d-high", "--config", str(config), "--json")

    assert code == 0, output
    shown = json.loads(output)
    assert set(shown) == {"decision_id", "decision", "screening", "approval", "reports"}
    assert shown["decision"]["target"] == "cell-12"
    assert [layer["layer"] for layer in shown["screening"]["layers"]] == ["rules", "llm"]
    assert (shown["approval"]["status"], shown["approval"]["actor"]) == ("denied", "bob")
    assert [r["outcome"] for r in shown["reports"]] == ["held"]


def test_show_prints_the_screening_layers_with_reasons_and_rationale(config: Path) -> None:
    code, output, _ = invoke("show", "d-high", "--config", str(config))

    assert code == 0, output
    for expected in (
        "Approval",
        "pending",
        "Decision d-high",
        "sleep_cell",
        "Screening layers",
        "peak hour;",
        "reversible",
        "Sleeping a cell",
        "Reports",
        "held",
    ):
        assert expected in output


def test_errors_are_one_sentence_and_a_non_zero_exit(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, error = invoke("show", "d-nope", "--config", str(config))
    assert code != 0
    assert isinstance(error, ApprovalNotFound)
    invoke("deny", "d-high", "--comment", "no", "--config", str(config))
    code, _, error = invoke("approve", "d-high", "--comment", "yes", "--config", str(config))
    assert code != 0
    assert isinstance(error, ApprovalClosed)

    with pytest.raises(SystemExit) as exited:
        run(["approvals", "approve", "d-nope", "--comment", "ok", "--config", str(config)])

    assert exited.value.code == ApprovalNotFound.exit_code != 0
    assert capsys.readouterr().err == "error: no agent asked for approval of decision d-nope\n"


def test_an_unknown_status_filter_is_an_error(config: Path) -> None:
    code, _, error = invoke("list", "--status", "maybe", "--config", str(config))

    assert code != 0
    assert str(error) == "status must be one of pending, approved, denied, expired, not 'maybe'"
