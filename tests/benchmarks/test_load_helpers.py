"""The load benchmark's pure helpers: its messages, digests, percentiles and /proc parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.load import rollout_plan
from benchmarks.support.load_figures import (
    Tally,
    cpu_from_stat,
    delivery,
    handling,
    mb_from_status,
    percentile,
)
from benchmarks.support.load_messages import HIGH_RISK_EVERY, archive_digest, decision_message
from control_plane.approvals.payloads import parse_report, parse_request
from control_plane.transport.stats import ServerCounters
from edgeward.bundles import bundle_digest, read_bundle
from edgeward.bundles.archive import pack_bundle
from edgeward.wire import ApprovalRequest, DecisionReport
from tests.support.models import model_bundle


def test_decisions_are_what_the_control_plane_accepts() -> None:
    low = decision_message("site-007", 2, model_version=3, at=1000.0)
    high = decision_message("site-007", 1, model_version=None, at=1000.0)
    assert [type(m) for m in low] == [DecisionReport]
    assert [type(m) for m in high] == [ApprovalRequest, DecisionReport]
    assert isinstance(low[0], DecisionReport)
    report = parse_report(low[0].payload, decision_id="site-007.d2")
    assert report.outcome == "executed"
    assert report.decision.model_version == 3
    assert isinstance(high[0], ApprovalRequest)
    request = parse_request(high[0].payload, decision_id="site-007.d1")
    assert request.expires_at > 1000.0


def test_one_decision_in_ten_is_high_risk() -> None:
    numbers = range(1, 10 * HIGH_RISK_EVERY + 1)
    held = [n for n in numbers if len(decision_message("s", n, model_version=1, at=0.0)) == 2]
    assert len(held) == 10


def test_a_delivered_archive_has_the_digest_of_the_offered_bundle(tmp_path: Path) -> None:
    bundle = model_bundle(tmp_path / "bundle")
    archive = pack_bundle(bundle)
    assert archive_digest(archive) == bundle_digest(read_bundle(bundle).manifest)
    assert archive_digest(archive[: len(archive) // 2]) is None
    assert archive_digest(b"not a tar archive") is None


def test_percentiles_match_the_servers() -> None:
    durations = [0.001 * n for n in (5, 1, 9, 3, 7, 2, 8, 4, 6, 10)]
    counters = ServerCounters()
    for seconds in durations:
        counters.record_handling(seconds)
    stats = counters.snapshot()
    assert percentile(durations, 0.99) * 1000 == pytest.approx(stats.handling_p99_ms)
    assert percentile(durations, 0.50) * 1000 == pytest.approx(stats.handling_p50_ms)
    assert percentile([], 0.99) == 0.0


def test_a_tally_summarises_round_trips_in_milliseconds() -> None:
    tally = Tally(sent=4, answered=3, round_trips=[0.006, 0.002, 0.004])
    assert tally.summary() == {
        "sent": 4,
        "answered": 3,
        "refused": 0,
        "rtt_p50_ms": 4.0,
        "rtt_p99_ms": 6.0,
    }


def test_cpu_is_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    stat = "4242 (python (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0"
    assert cpu_from_stat(stat, 100) == pytest.approx(3.0)


def test_memory_is_read_in_megabytes() -> None:
    status = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert mb_from_status(status, "VmRSS") == 100.0
    assert mb_from_status(status, "VmHWM") == 200.0
    with pytest.raises(ValueError, match="VmSwap"):
        mb_from_status(status, "VmSwap")


def test_bakes_scale_with_the_run_and_never_drop_below_two_seconds() -> None:
    assert rollout_plan(600).bake_s == 15.0
    assert rollout_plan(600).max_bake_extension_s == 15.0
    assert rollout_plan(20).bake_s == 2.0
    assert rollout_plan(600).waves[-1] == 1.0


def _light(sent: int, answered: int) -> dict[str, object]:
    tally = {"sent": sent, "answered": answered, "rtt_p50_ms": 1.0, "rtt_p99_ms": 9.0}
    return {
        "heartbeat": tally,
        "decision_report": {**tally, "sent": 5, "answered": 5},
        "approval_request": {**tally, "sent": 1, "answered": 1},
        "errors": {},
        "send_lateness_p99_ms": 2.0,
        "steady_heartbeat_rtt_p99_ms": 3.0,
    }


def test_lost_means_sent_but_not_stored_and_unanswered_counts_every_kind() -> None:
    full = {"decision_reports_put": 4, "approval_requests_put": 1, "outbox_backlog": 2}
    stored = {"heartbeats": 98, "decision_reports": 9, "approval_requests": 2}
    figures = delivery(_light(sent=100, answered=99), full, stored)
    assert figures["heartbeats_lost"] == 2
    assert figures["decision_reports_lost"] == 0
    assert figures["approval_requests_lost"] == 0
    assert figures["unanswered_messages"] == 1 + 2  # one heartbeat, two in the outboxes


def test_the_worst_windows_p99_is_reported() -> None:
    window = {"handling_p50_ms": 1.0, "handling_max_ms": 20.0, "received": 10}
    snapshots = [{**window, "handling_p99_ms": p99} for p99 in (5.0, 40.0, 6.0)]
    final = {**window, "handling_p99_ms": 7.0, "received": 1000, "errors": 1}
    figures = handling(snapshots, final, window_s=10.0)
    assert figures["handling_p99_ms"] == 40.0
    assert figures["handling_p99_ms_median_window"] == 7.0
    assert figures["messages_per_s"] == 100.0
    assert figures["control_plane_errors"] == 1
