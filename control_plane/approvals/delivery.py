"""Verdicts to agents: pushed until the agent answers, again at once when it reconnects.

A verdict is an `ApprovalVerdict` whose message id is chosen when the verdict is given and
kept by every resend, so the agent's `Ack` (its `reply_to`) names the verdict it answers.
Pushes are paced per verdict: the first goes out at the next tick, each resend waits twice as
long as the one before (from `resend_after_s` up to `max_resend_after_s`). A site that is not
connected costs nothing: nothing is pushed, and the next tick tries again. When a site says
hello (a reconnection), every verdict it has not acknowledged is pushed at once.

What settles a verdict: an `Ack` (with `ok` false too: the agent heard it and said why it
will not act, kept as `verdict_detail`), or an `ErrorReply` with code `rejected` (resending
cannot help). Any other error reply leaves it to be resent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final, Protocol

from control_plane.approvals.records import Approval
from control_plane.approvals.store import ApprovalStore
from edgeward.wire import Ack, ApprovalVerdict, ErrorCode, ErrorReply, WireMessage

log = logging.getLogger(__name__)

VERDICT_RESEND_S: Final = 5.0
"""How long a pushed verdict waits for its acknowledgement before the first resend."""
VERDICT_MAX_RESEND_S: Final = 60.0
"""The longest wait between two resends of one verdict."""


class VerdictCourier(Protocol):
    """Pushes a message to a site (the control plane's `CurveServer` is one)."""

    def send(self, site: str, message: WireMessage) -> bool:
        """Push `message` to `site`; False when the site is not connected."""


def verdict_message(approval: Approval) -> ApprovalVerdict:
    """Return the `ApprovalVerdict` that tells the agent about a person's verdict."""
    if approval.verdict_message_id is None or approval.decided_at is None:
        raise ValueError(f"decision {approval.decision_id} has no verdict to send")
    return ApprovalVerdict(
        id=approval.verdict_message_id,
        decision_id=approval.decision_id,
        site=approval.site,
        risk=approval.risk,
        approved=approval.status == "approved",
        payload={
            "actor": approval.actor or "",
            "comment": approval.comment,
            "at": approval.decided_at,
            "override": approval.override,
        },
    )


class VerdictDelivery:
    """Push verdicts until agents acknowledge them."""

    def __init__(
        self,
        store: ApprovalStore,
        *,
        clock: Callable[[], float] = time.time,
        resend_after_s: float = VERDICT_RESEND_S,
        max_resend_after_s: float = VERDICT_MAX_RESEND_S,
    ) -> None:
        self._store = store
        self._clock = clock
        self.resend_after_s = resend_after_s
        self.max_resend_after_s = max_resend_after_s

    def deliver(self, courier: VerdictCourier, *, site: str | None = None) -> int:
        """Push the verdicts that are due; return how many went out.

        With `site` (it just said hello), push every verdict it has not acknowledged, due or
        not: its earlier connection, and what was pushed over it, may be gone.
        """
        now = self._clock()
        waiting = self._store.undelivered(site=site)
        due = waiting if site is not None else [a for a in waiting if self._due(a, now)]
        sent = [a.decision_id for a in due if courier.send(a.site, verdict_message(a))]
        if sent:
            self._store.mark_sent(sent, now=now)
            log.info("pushed %d verdict(s): %s", len(sent), ", ".join(sent))
        return len(sent)

    def acknowledged(self, site: str, ack: Ack) -> None:
        """Settle the verdict an agent's `Ack` answers (a wire handler: no reply)."""
        if ack.reply_to is None:
            return
        detail = "" if ack.ok else (ack.detail or "the agent declined the verdict")
        self._settle(site, ack.reply_to, detail)

    def refused(self, site: str, error: ErrorReply) -> None:
        """Settle a verdict the agent refused for good (a wire handler: no reply)."""
        if error.reply_to is None:
            return
        if error.code != ErrorCode.REJECTED:
            log.debug(
                "site %s could not take message %s (%s: %s); if it was a verdict, it is resent",
                site,
                error.reply_to,
                error.code,
                error.detail,
            )
            return
        self._settle(site, error.reply_to, f"refused by the agent: {error.detail}")

    def _settle(self, site: str, message_id: str, detail: str) -> None:
        approval = self._store.mark_delivered(
            site=site, verdict_message_id=message_id, detail=detail, now=self._clock()
        )
        if approval is None:
            return  # an answer to another push (a model offer, a rollback order)
        if detail:
            log.warning("site %s on decision %s: %s", site, approval.decision_id, detail)
        else:
            log.info("site %s acknowledged the verdict on %s", site, approval.decision_id)

    def _due(self, approval: Approval, now: float) -> bool:
        if approval.verdict_sent_at is None:
            return True
        wait = self.resend_after_s * 2.0 ** max(0, approval.verdict_attempts - 1)
        return now - approval.verdict_sent_at >= min(wait, self.max_resend_after_s)
