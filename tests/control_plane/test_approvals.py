"""The approval desk over the real control database: requests, reports, verdicts, expiry, delivery.

Time moves with a fake clock; verdicts go to a recording courier (the CURVE transport is in
test_approvals_transport.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest

from control_plane.approvals import (
    OUTCOMES,
    ApprovalClosed,
    ApprovalDesk,
    ApprovalError,
    ApprovalNotFound,
    Outcome,
    OverrideRequired,
)
from control_plane.state import AuditLog, Writer, open_control_db
from edgeward.risk import RiskLevel
from edgeward.wire import (
    Ack,
    ApprovalRequest,
    ApprovalVerdict,
    DecisionReport,
    ErrorCode,
    ErrorReply,
    WireMessage,
)
from tests.fakes.clock import FakeClock

NOW = 1_796_300_000.0
SITE = "site-1"


def decision(decision_id: str = "d-1", **overrides: Any) -> dict[str, Any]:
    """Return a decision as an agent sends it (Decision JSON)."""
    values: dict[str, Any] = {
        "id": decision_id,
        "site": SITE,
        "action": "sleep_cell",
        "target": "cell-12",
        "parameters": {"duration_min": 30},
        "model_version": 4,
        "confidence": 0.83,
        "evidence": {"prb_util_dl": 0.04},
        "context": {"hour": 14, "peak_hour": True, "users_affected": 120},
        "summary": "Sleep cell-12 for 30 min: downlink load 4%",
        "created_at": NOW,
    }
    values.update(overrides)
    return values


def screening(level: str = "high") -> dict[str, Any]:
    """Return the agent's screening of a decision: the final level and each layer's."""
    return {
        "level": level,
        "layers": [
            {"layer": "rules", "level": level, "reasons": ["peak hour", "120 users affected"]},
            {"layer": "llm", "level": "medium", "reasons": ["the model rates it medium (71%)"]},
        ],
        "rationale": "Sleeping a cell at peak hour drops users onto its neighbours.",
    }


def approval_request(
    decision_id: str = "d-1",
    *,
    risk: RiskLevel = "high",
    site: str = SITE,
    expires_at: float = NOW + 600,
    **payload: Any,
) -> ApprovalRequest:
    """Return an agent's request to approve a decision."""
    body: dict[str, Any] = {
        "decision": decision(decision_id, site=site),
        "screening": screening(risk),
        "expires_at": expires_at,
    }
    body.update(payload)
    return ApprovalRequest(decision_id=decision_id, site=site, risk=risk, payload=body)


def decision_report(
    decision_id: str = "d-1", outcome: str = "held", *, at: float = NOW, risk: RiskLevel = "high"
) -> DecisionReport:
    """Return an agent's report of what became of a decision."""
    return DecisionReport(
        decision_id=decision_id,
        site=SITE,
        risk=risk,
        payload={
            "decision": decision(decision_id),
            "screening": screening(risk),
            "outcome": outcome,
            "at": at,
        },
    )


class Courier:
    """Records pushes; `connected` decides whether a push goes out."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, WireMessage]] = []
        self.connected = True

    def send(self, site: str, message: WireMessage) -> bool:
        if self.connected:
            self.sent.append((site, message))
        return self.connected

    def verdicts(self) -> list[ApprovalVerdict]:
        return [m for _, m in self.sent if isinstance(m, ApprovalVerdict)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    return Writer(open_control_db(tmp_path))


@pytest.fixture
def audit(writer: Writer) -> AuditLog:
    return AuditLog(writer)


@pytest.fixture
def desk(writer: Writer, audit: AuditLog, clock: FakeClock) -> ApprovalDesk:
    return ApprovalDesk(writer, audit, clock=clock)


def held(desk: ApprovalDesk, decision_id: str = "d-1", **kwargs: Any) -> None:
    """Have the agent ask for approval of a decision (and check it was acknowledged)."""
    site = kwargs.pop("site", SITE)
    reply = desk.intake.request(site, approval_request(decision_id, site=site, **kwargs))
    assert isinstance(reply, Ack), reply


# -- requests and reports ------------------------------------------------------------------
def test_a_request_is_held_with_its_decision_and_screening(
    desk: ApprovalDesk, audit: AuditLog
) -> None:
    reply = desk.intake.request(SITE, approval_request())

    assert isinstance(reply, Ack)
    assert reply.ok
    [approval] = desk.pending()
    assert approval.decision_id == "d-1"
    assert (approval.site, approval.risk, approval.status) == (SITE, "high", "pending")
    assert approval.action == "sleep_cell"
    assert approval.decision["parameters"] == {"duration_min": 30}
    assert approval.screening["rationale"].startswith("Sleeping a cell")
    assert (approval.requested_at, approval.expires_at) == (NOW, NOW + 600)
    [entry] = audit.entries(action="approval.request")
    assert (entry.actor, entry.subject) == (f"agent:{SITE}", "decision d-1")


def test_a_repeated_request_is_acknowledged_and_changes_nothing(
    desk: ApprovalDesk, audit: AuditLog, clock: FakeClock
) -> None:
    held(desk)
    clock.advance(30)

    reply = desk.intake.request(SITE, approval_request(expires_at=NOW + 9999))

    assert isinstance(reply, Ack)
    assert reply.ok
    [approval] = desk.pending()
    assert (approval.requested_at, approval.expires_at) == (NOW, NOW + 600)
    assert len(audit.entries(action="approval.request")) == 1


def test_a_request_for_a_decided_decision_is_acknowledged_without_reopening_it(
    desk: ApprovalDesk,
) -> None:
    held(desk)
    desk.deny("d-1", actor="alice", comment="not at peak hour")

    reply = desk.intake.request(SITE, approval_request())

    assert isinstance(reply, Ack)
    assert reply.ok
    assert "denied" in reply.detail
    approval = desk.get("d-1")
    assert approval is not None
    assert approval.status == "denied"
    assert desk.pending() == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"decision": None}, r"payload\.decision: Input should be a valid dictionary"),
        ({"decision": decision(action="launch_rocket")}, r"payload\.decision\.action: "),
        ({"screening": ["rules"]}, r"payload\.screening: Input should be a valid dictionary"),
        ({"expires_at": "tomorrow"}, r"payload\.expires_at: Input should be a valid number"),
        ({"expires_at": True}, r"payload\.expires_at: Input should be a valid number"),
        ({"decision": decision(site="site-2")}, r"names site site-2, but this connection is"),
    ],
)
def test_a_malformed_request_gets_an_error_reply_saying_why(
    desk: ApprovalDesk, payload: dict[str, Any], reason: str
) -> None:
    reply = desk.intake.request(SITE, approval_request(**payload))

    assert isinstance(reply, ErrorReply)
    assert reply.code == ErrorCode.REJECTED
    assert re.search(reason, reply.detail), reply.detail
    assert desk.get("d-1") is None


def test_a_request_without_expiry_or_a_report_without_outcome_is_refused(
    desk: ApprovalDesk,
) -> None:
    bare = ApprovalRequest(
        decision_id="d-1",
        site=SITE,
        risk="high",
        payload={"decision": decision(), "screening": {}},
    )
    report = decision_report(outcome="vanished")

    refused_request = desk.intake.request(SITE, bare)
    refused_report = desk.intake.report(SITE, report)

    assert isinstance(refused_request, ErrorReply)
    assert refused_request.detail == (
        "the approval request for d-1 is malformed: payload.expires_at: Field required"
    )
    assert isinstance(refused_report, ErrorReply)
    assert "payload.outcome: Input should be 'executed'" in refused_report.detail


def test_a_decision_id_belongs_to_the_site_that_used_it_first(desk: ApprovalDesk) -> None:
    held(desk)

    reply = desk.intake.request("site-2", approval_request(site="site-2"))

    assert isinstance(reply, ErrorReply)
    assert reply.detail == (
        "decision id d-1 already belongs to site site-1; each decision needs an id of its own"
    )


def test_reports_are_kept_once_per_decision_and_outcome(desk: ApprovalDesk) -> None:
    for report in (
        decision_report(outcome="held", at=NOW),
        decision_report(outcome="executed", at=NOW + 60),
        decision_report(outcome="held", at=NOW + 999),  # a resend
    ):
        assert isinstance(desk.intake.report(SITE, report), Ack)

    trail = desk.trail("d-1")

    assert [(r.outcome, r.at) for r in trail.reports] == [("held", NOW), ("executed", NOW + 60)]
    assert trail.approval is None
    assert trail.decision["action"] == "sleep_cell"
    assert (trail.reports[0].action, trail.reports[0].model_version) == ("sleep_cell", 4)


def test_every_outcome_is_described_and_accepted(desk: ApprovalDesk) -> None:
    assert list(OUTCOMES) == list(get_args(Outcome))
    for outcome in OUTCOMES:
        assert isinstance(desk.intake.report(SITE, decision_report(outcome=outcome)), Ack)

    assert sorted(r.outcome for r in desk.trail("d-1").reports) == sorted(OUTCOMES)


# -- verdicts -------------------------------------------------------------------------------
def test_an_approval_is_recorded_with_its_audit_entry(desk: ApprovalDesk, audit: AuditLog) -> None:
    held(desk)

    approval = desk.approve("d-1", actor="alice", comment="off-peak soon; fine")

    assert (approval.status, approval.actor, approval.comment) == (
        "approved",
        "alice",
        "off-peak soon; fine",
    )
    assert approval.decided_at == NOW
    assert approval.verdict_message_id is not None
    [entry] = audit.entries(action="approval.approve")
    assert (entry.actor, entry.subject) == ("alice", "decision d-1")
    assert entry.detail["comment"] == "off-peak soon; fine"
    assert entry.detail["action"] == "sleep_cell"
    assert entry.detail["override"] is False
    assert audit.verify() == (True, None)


def test_the_first_verdict_is_final(desk: ApprovalDesk, audit: AuditLog) -> None:
    held(desk)
    desk.approve("d-1", actor="alice", comment="fine")

    with pytest.raises(
        ApprovalClosed, match=r"already approved by alice; the first verdict is final"
    ):
        desk.deny("d-1", actor="bob", comment="no")
    with pytest.raises(ApprovalClosed, match=r"already approved"):
        desk.approve("d-1", actor="bob", comment="yes again")

    assert desk.get("d-1").actor == "alice"  # type: ignore[union-attr]
    assert [e.action for e in audit.entries()] == ["approval.request", "approval.approve"]


def test_critical_decisions_need_an_override_to_run(desk: ApprovalDesk) -> None:
    held(desk, "d-crit", risk="critical")
    held(desk, "d-crit-2", risk="critical")

    with pytest.raises(
        OverrideRequired, match="critical decisions run only with an admin override"
    ):
        desk.approve("d-crit", actor="alice", comment="please")
    assert desk.get("d-crit").status == "pending"  # type: ignore[union-attr]

    approved = desk.approve("d-crit", actor="root", comment="storm, we know", override=True)
    denied = desk.deny("d-crit-2", actor="alice", comment="no")

    assert (approved.status, approved.override) == ("approved", True)
    assert denied.status == "denied"


def test_unknown_ids_and_verdicts_without_a_reason_are_refused(desk: ApprovalDesk) -> None:
    held(desk)

    with pytest.raises(ApprovalNotFound, match="no agent asked for approval of decision d-9"):
        desk.approve("d-9", actor="alice", comment="ok")
    with pytest.raises(ApprovalError, match="a verdict needs a comment saying why"):
        desk.approve("d-1", actor="alice", comment="  ")
    with pytest.raises(ApprovalNotFound, match="no agent has asked about or reported decision d-9"):
        desk.trail("d-9")


def test_a_verdict_and_its_audit_entry_commit_together(
    desk: ApprovalDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    held(desk)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(desk.audit, "record", broken)

    with pytest.raises(OSError, match="disk full"):
        desk.approve("d-1", actor="alice", comment="fine")

    approval = desk.get("d-1")
    assert approval is not None
    assert (approval.status, approval.verdict_message_id) == ("pending", None)


# -- expiry ---------------------------------------------------------------------------------
def test_pending_requests_expire_at_their_time(
    desk: ApprovalDesk, audit: AuditLog, clock: FakeClock
) -> None:
    held(desk, "d-1", expires_at=NOW + 60)
    held(desk, "d-2", expires_at=NOW + 600)
    clock.advance(59)
    assert desk.expire_due() == []

    clock.advance(1)
    expired = desk.expire_due()

    assert [a.decision_id for a in expired] == ["d-1"]
    assert desk.get("d-1").status == "expired"  # type: ignore[union-attr]
    assert [a.decision_id for a in desk.pending()] == ["d-2"]
    [entry] = audit.entries(action="approval.expire")
    assert (entry.actor, entry.subject) == ("expiry", "decision d-1")
    assert desk.expire_due() == []
    with pytest.raises(ApprovalClosed, match=r"expired at .*; it can no longer be decided"):
        desk.approve("d-1", actor="alice", comment="too late")


def test_a_verdict_after_the_deadline_is_refused_even_before_the_tick(
    desk: ApprovalDesk, clock: FakeClock
) -> None:
    held(desk, expires_at=NOW + 60)
    clock.advance(61)

    with pytest.raises(ApprovalClosed, match="the approval request for decision d-1 expired"):
        desk.approve("d-1", actor="alice", comment="ok")

    assert desk.get("d-1").status == "expired"  # type: ignore[union-attr]


# -- delivery -------------------------------------------------------------------------------
def test_a_verdict_is_pushed_until_the_agent_acknowledges_it(
    desk: ApprovalDesk, clock: FakeClock
) -> None:
    courier = Courier()
    held(desk)
    assert desk.delivery.deliver(courier) == 0
    desk.approve("d-1", actor="alice", comment="fine")

    assert desk.delivery.deliver(courier) == 1
    [verdict] = courier.verdicts()
    assert (verdict.decision_id, verdict.site, verdict.risk, verdict.approved) == (
        "d-1",
        SITE,
        "high",
        True,
    )
    assert verdict.payload == {"actor": "alice", "comment": "fine", "at": NOW, "override": False}

    clock.advance(desk.delivery.resend_after_s - 1)
    assert desk.delivery.deliver(courier) == 0
    clock.advance(1)
    assert desk.delivery.deliver(courier) == 1
    clock.advance(desk.delivery.resend_after_s)
    assert desk.delivery.deliver(courier) == 0  # the wait doubles
    clock.advance(desk.delivery.resend_after_s)
    assert desk.delivery.deliver(courier) == 1
    assert {v.id for v in courier.verdicts()} == {verdict.id}  # a resend keeps its id

    acked_at = clock()
    desk.delivery.acknowledged(SITE, Ack(reply_to=verdict.id))
    clock.advance(3600)

    assert desk.delivery.deliver(courier) == 0
    assert desk.delivery.deliver(courier, site=SITE) == 0
    approval = desk.get("d-1")
    assert approval is not None
    assert (approval.verdict_attempts, approval.verdict_delivered_at) == (3, acked_at)


def test_a_disconnected_site_gets_its_verdict_when_it_says_hello(
    desk: ApprovalDesk, clock: FakeClock
) -> None:
    courier = Courier()
    held(desk)
    desk.deny("d-1", actor="alice", comment="no")
    courier.connected = False
    assert desk.delivery.deliver(courier) == 0
    courier.connected = True
    assert desk.delivery.deliver(courier) == 1  # next tick: nothing counted against it
    clock.advance(1)
    assert desk.delivery.deliver(courier) == 0

    assert desk.delivery.deliver(courier, site=SITE) == 1  # hello: at once, due or not
    assert desk.delivery.deliver(courier, site="site-2") == 0
    assert [v.approved for v in courier.verdicts()] == [False, False]


def test_what_settles_a_verdict(desk: ApprovalDesk) -> None:
    courier = Courier()
    for decision_id in ("d-1", "d-2", "d-3", "d-4"):
        held(desk, decision_id)
        desk.approve(decision_id, actor="alice", comment="ok")
    desk.delivery.deliver(courier)
    ids = {v.decision_id: v.id for v in courier.verdicts()}

    desk.delivery.acknowledged(SITE, Ack(reply_to=ids["d-1"], ok=False, detail="it expired here"))
    desk.delivery.refused(
        SITE, ErrorReply(reply_to=ids["d-2"], code=ErrorCode.REJECTED, detail="unknown decision")
    )
    desk.delivery.refused(
        SITE, ErrorReply(reply_to=ids["d-3"], code=ErrorCode.INTERNAL, detail="try again")
    )
    desk.delivery.acknowledged("site-2", Ack(reply_to=ids["d-4"]))  # not the verdict's site
    desk.delivery.acknowledged(SITE, Ack(reply_to="some-model-offer"))

    details = {}
    for decision_id in ids:
        approval = desk.get(decision_id)
        assert approval is not None
        details[decision_id] = (approval.verdict_delivered_at is not None, approval.verdict_detail)
    assert details == {
        "d-1": (True, "it expired here"),
        "d-2": (True, "refused by the agent: unknown decision"),
        "d-3": (False, ""),
        "d-4": (False, ""),
    }


def test_expired_requests_send_no_verdict(desk: ApprovalDesk, clock: FakeClock) -> None:
    courier = Courier()
    held(desk, expires_at=NOW + 5)
    clock.advance(5)
    desk.expire_due()

    assert desk.delivery.deliver(courier) == 0
    assert desk.delivery.deliver(courier, site=SITE) == 0


# -- queries --------------------------------------------------------------------------------
def test_pending_history_and_counts(desk: ApprovalDesk, clock: FakeClock) -> None:
    held(desk, "d-1")
    clock.advance(1)
    held(desk, "d-2", risk="critical")
    clock.advance(1)
    held(desk, "d-3", site="site-2")
    desk.deny("d-2", actor="alice", comment="no")
    for report in (
        decision_report("d-1", "held"),
        decision_report("d-1", "executed"),
        decision_report("d-9", "executed", risk="low"),
    ):
        desk.intake.report(SITE, report)

    assert [a.decision_id for a in desk.pending()] == ["d-1", "d-3"]
    assert [a.decision_id for a in desk.history()] == ["d-3", "d-2", "d-1"]
    assert [a.decision_id for a in desk.history(site=SITE)] == ["d-2", "d-1"]
    assert [a.decision_id for a in desk.history(status="denied")] == ["d-2"]
    assert [a.decision_id for a in desk.history(risk="critical")] == ["d-2"]
    assert [a.decision_id for a in desk.history(site="site-2", status="denied")] == []
    assert desk.counts().to_dict() == {
        "decisions_by_risk": {"high": 1, "low": 1},
        "reports_by_outcome": {"executed": 2, "held": 1},
        "approvals_by_status": {"denied": 1, "pending": 2},
    }
