"""`edgeward approvals export`: operators' verdicts as labelled cases for `risk tune --verdicts`.

The desk runs over the real control database with a fake clock; the exported file is read back
by the risk package's own loaders.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_plane.approvals import (
    ApprovalDesk,
    ApprovalStatus,
    ExportFailed,
    export_verdicts,
    parse_since,
)
from control_plane.local import open_local
from control_plane.state import AuditLog, Writer, open_control_db
from edgeward.cli.main import cli, run
from edgeward.risk import RiskLevel
from edgeward.risk.cases import load_cases
from edgeward.risk.llm.errors import TuningDataError
from edgeward.risk.llm.tuning import _read_verdicts
from tests.control_plane.test_approvals import NOW, SITE, approval_request, held
from tests.fakes.clock import FakeClock

FAR = 4_000_000_000.0
"""An expiry that does not come while the tests run."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> ApprovalDesk:
    """Return a desk holding one request of each outcome, decided 10 s apart.

    d-high approved (t+0), d-crit approved by override (t+10), d-deny denied (t+20),
    d-late expired (at t+25), d-wait still pending.
    """
    writer = Writer(open_control_db(tmp_path))
    desk = ApprovalDesk(writer, AuditLog(writer), clock=clock)
    held(desk, "d-high", risk="high")
    held(desk, "d-crit", risk="critical")
    held(desk, "d-deny", risk="high")
    held(desk, "d-late", risk="high", expires_at=NOW + 25)
    held(desk, "d-wait", risk="high", expires_at=FAR)
    desk.approve("d-high", actor="alice", comment="off-peak soon")
    clock.advance(10)
    desk.approve("d-crit", actor="admin:carol", comment="storm: shed it", override=True)
    clock.advance(10)
    desk.deny("d-deny", actor="bob", comment="users on that cell")
    clock.advance(10)
    desk.expire_due()
    return desk


def test_export_writes_the_three_judged_decisions_with_their_labels(
    desk: ApprovalDesk, tmp_path: Path
) -> None:
    path = tmp_path / "verdicts.jsonl"

    exported = export_verdicts(desk.decided(), path)

    assert exported.by_label == {"low": 0, "medium": 1, "high": 2, "critical": 0}
    assert (exported.written, exported.skipped) == (3, {})
    cases = load_cases(path)
    assert [(case.decision.id, case.label, case.why) for case in cases] == [
        ("d-high", "medium", "operator alice approved it: off-peak soon"),
        ("d-crit", "high", "operator admin:carol approved it: storm: shed it"),
        ("d-deny", "high", "operator bob denied it: users on that cell"),
    ]
    for case in cases:
        stored = desk.get(case.decision.id)
        assert stored is not None
        assert case.decision.model_dump(mode="json") == stored.decision


def test_each_line_is_a_case_object_with_decision_label_and_why(
    desk: ApprovalDesk, tmp_path: Path
) -> None:
    path = tmp_path / "verdicts.jsonl"

    export_verdicts(desk.decided(), path)

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [set(row) for row in rows] == [{"decision", "label", "why"}] * 3
    assert rows[0]["decision"]["id"] == "d-high"
    assert rows[0]["decision"]["action"] == "sleep_cell"


def test_decided_leaves_out_expired_and_pending_requests(desk: ApprovalDesk) -> None:
    statuses = {a.decision_id: a.status for a in desk.history()}
    assert (statuses["d-late"], statuses["d-wait"]) == ("expired", "pending")

    assert [a.decision_id for a in desk.decided()] == ["d-high", "d-crit", "d-deny"]


def test_since_keeps_verdicts_given_at_or_after_it(desk: ApprovalDesk) -> None:
    assert [a.decision_id for a in desk.decided(since=NOW + 10)] == ["d-crit", "d-deny"]
    assert [a.decision_id for a in desk.decided(since=NOW + 21)] == []


@pytest.mark.parametrize(
    ("risk", "status", "label"),
    [
        ("high", "denied", "high"),
        ("critical", "denied", "critical"),
        ("high", "approved", "medium"),
        ("critical", "approved", "high"),
    ],
)
def test_the_label_follows_the_verdict_and_the_screened_level(
    tmp_path: Path,
    clock: FakeClock,
    risk: RiskLevel,
    status: ApprovalStatus,
    label: RiskLevel,
) -> None:
    writer = Writer(open_control_db(tmp_path))
    desk = ApprovalDesk(writer, AuditLog(writer), clock=clock)
    held(desk, "d-1", risk=risk)
    if status == "approved":
        desk.approve("d-1", actor="alice", comment="fine", override=risk == "critical")
    else:
        desk.deny("d-1", actor="alice", comment="not now")

    export_verdicts(desk.decided(), tmp_path / "verdicts.jsonl")

    [case] = load_cases(tmp_path / "verdicts.jsonl")
    assert case.label == label


def test_the_export_is_accepted_as_verdicts_by_risk_tune(
    desk: ApprovalDesk, tmp_path: Path
) -> None:
    path = tmp_path / "verdicts.jsonl"
    export_verdicts(desk.decided(), path)

    verdicts = _read_verdicts(path, set())
    kept = _read_verdicts(path, {"d-deny"})

    assert [case.label for case in verdicts] == ["medium", "high", "high"]
    assert [case.decision.id for case in kept] == ["d-high", "d-crit"]


def test_an_export_replaces_the_file_whole(desk: ApprovalDesk, tmp_path: Path) -> None:
    path = tmp_path / "verdicts.jsonl"
    path.write_text("an older export\n" * 100, encoding="utf-8")

    export_verdicts(desk.decided(since=NOW + 20), path)

    assert [case.decision.id for case in load_cases(path)] == ["d-deny"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []


def test_no_verdict_writes_an_empty_file_that_tune_accepts(
    desk: ApprovalDesk, tmp_path: Path
) -> None:
    path = tmp_path / "verdicts.jsonl"

    exported = export_verdicts(desk.decided(since=FAR), path)

    assert exported.written == 0
    assert path.read_text(encoding="utf-8") == ""
    assert _read_verdicts(path, set()) == []


def test_an_unwritable_output_is_one_sentence(desk: ApprovalDesk, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "verdicts.jsonl"

    with pytest.raises(
        ExportFailed, match=r"^cannot write the verdicts to .*verdicts\.jsonl: No such file"
    ):
        export_verdicts(desk.decided(), path)


def test_a_file_from_elsewhere_is_not_mistaken_for_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.jsonl"
    path.write_text('{"decision": {"action": "sleep_cell"}, "label": "high"}\n')

    with pytest.raises(TuningDataError, match="needs its own id"):
        _read_verdicts(path, set())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1796300000", 1_796_300_000.0),
        ("1796300000.5", 1_796_300_000.5),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC).timestamp()),
        ("2026-12-01T08:00:00+01:00", datetime(2026, 12, 1, 7, tzinfo=UTC).timestamp()),
    ],
)
def test_since_is_unix_seconds_or_iso_8601_utc_unless_it_says(text: str, expected: float) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "nan", "12/01/2026"])
def test_a_since_that_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(ExportFailed, match=f"^{text!r} is "):
        parse_since(text)


# -- the CLI ---------------------------------------------------------------------------------
@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Return a settings file whose state holds an approved, a denied and a pending request."""
    path = tmp_path / "control.toml"
    path.write_text(
        f"""
[control]
state_dir = "{tmp_path / "state"}"
registry_dir = "{tmp_path / "registry"}"
pki_dir = "{tmp_path / "pki"}"
"""
    )
    desk = open_local(path).approvals
    for decision_id in ("d-yes", "d-no", "d-wait"):
        desk.intake.request(SITE, approval_request(decision_id, expires_at=FAR))
    desk.approve("d-yes", actor="alice", comment="checked with the NOC")
    desk.deny("d-no", actor="bob", comment="never at peak")
    return path


def invoke(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(cli, ["approvals", *args], terminal_width=200)
    return result.exit_code, result.output, result.exception


def test_cli_export_json_counts_cases_per_label(config: Path, tmp_path: Path) -> None:
    output = tmp_path / "verdicts.jsonl"

    code, printed, _ = invoke("export", "--output", str(output), "--config", str(config), "--json")

    assert code == 0, printed
    assert json.loads(printed) == {
        "output": str(output),
        "written": 2,
        "by_label": {"low": 0, "medium": 1, "high": 1, "critical": 0},
        "skipped": {},
    }
    assert [(c.decision.id, c.label) for c in load_cases(output)] == [
        ("d-yes", "medium"),
        ("d-no", "high"),
    ]


def test_cli_export_prints_a_table(config: Path, tmp_path: Path) -> None:
    output = tmp_path / "verdicts.jsonl"

    code, printed, _ = invoke("export", "-o", str(output), "--config", str(config))

    assert code == 0, printed
    assert "Verdicts exported to" in printed
    for label, count in (("medium", 1), ("high", 1), ("critical", 0), ("total", 2)):
        assert re.search(rf"[│|]\s*{label}\s*[│|]\s*{count}\s*[│|]", printed), printed


def test_help_lists_export(config: Path) -> None:
    code, output, _ = invoke("--help")

    assert code == 0
    assert "export" in output


def test_cli_since_filters_by_when_the_verdict_was_given(config: Path, tmp_path: Path) -> None:
    output = tmp_path / "verdicts.jsonl"
    args = ("--output", str(output), "--config", str(config), "--json")

    everything = invoke("export", *args, "--since", "2000-01-01")
    nothing = invoke("export", *args, "--since", "2096-01-01T00:00:00+00:00")

    assert json.loads(everything[1])["written"] == 2
    assert json.loads(nothing[1])["written"] == 0
    assert load_cases(output) == []


def test_cli_errors_are_one_sentence_and_a_non_zero_exit(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, error = invoke(
        "export", "-o", str(tmp_path / "v.jsonl"), "--since", "soon", "--config", str(config)
    )
    assert code != 0
    assert isinstance(error, ExportFailed)

    with pytest.raises(SystemExit) as exited:
        run(["approvals", "export", "-o", str(tmp_path), "--config", str(config)])

    assert exited.value.code == ExportFailed.exit_code != 0
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write the verdicts to {tmp_path}: ")
    assert err.count("\n") == 1
