"""Assemble the agent's decision path: observer → policy → screening → action, and approvals."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from edge_agent.control_link import ControlLink
from edge_agent.decisions.engine import ActionSink, DecisionEngine
from edge_agent.decisions.journal import DecisionJournal
from edge_agent.decisions.llm_layer import load_llm_judge
from edge_agent.decisions.observer import DecisionSettings, ModelDecisions
from edge_agent.ingest.writer import IngestWriter
from edge_agent.model_store import ModelStore
from edge_agent.settings import DecisionsSettings
from edge_agent.store import AgentStore
from edgeward.risk.screening import RiskScreener
from edgeward.wire import ApprovalVerdict
from edgeward.workers import Every

log = logging.getLogger(__name__)


class DecisionStack:
    """The running decision path of one agent (a daemon component)."""

    def __init__(
        self,
        *,
        site: str,
        settings: DecisionsSettings,
        store: AgentStore,
        models: ModelStore,
        writer: IngestWriter,
        sink: ActionSink,
        link: ControlLink | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sink = sink
        self.journal = DecisionJournal(store, clock=clock)
        llm = load_llm_judge(settings) if settings.llm_enabled else None
        self.screener = RiskScreener(llm=llm, llm_timeout_s=settings.llm_timeout_s)
        self._followup = Every("decision-followup", settings.expiry_interval_s, self._follow_up)
        self.engine = DecisionEngine(
            site=site,
            journal=self.journal,
            screener=self.screener,
            sink=sink,
            send=link.outbox.put if link is not None else None,
            explain=getattr(llm, "rationale", None),
            on_held=self._followup.wake,
            approval_timeout_s=settings.approval_timeout_s,
            clock=clock,
        )
        self.observer = ModelDecisions(
            models=models,
            engine=self.engine,
            settings=DecisionSettings(
                peak_hours=frozenset(settings.peak_hours),
                protected_sources=frozenset(settings.protected_sources),
                cooldown_s=settings.cooldown_s,
            ),
            clock=clock,
        )
        writer.on_stored.append(self.observer.on_stored)
        if link is not None:
            link.client.on(ApprovalVerdict, self.engine.on_verdict)

    def start(self) -> None:
        """Start acting on stored readings and expiring unanswered approvals."""
        start = getattr(self._sink, "start", None)
        if callable(start):
            start()
        self.observer.start()
        self._followup.start()

    def stop(self) -> None:
        """Stop acting (decisions already recorded keep their status)."""
        self._followup.stop()
        self.observer.stop()
        self.screener.close()
        stop = getattr(self._sink, "stop", None)
        if callable(stop):
            stop()

    def _follow_up(self) -> None:
        """Resend lagging reports, ask about new holds, then expire those nobody answered."""
        # First, so a failing approval request (the same full disk) cannot starve it.
        resent = self.engine.report_unreported()
        if resent:
            log.info("sent %d decision report(s) that could not be stored before", resent)
        asked = self.engine.ask_pending()
        if asked:
            log.info("asked the control plane to approve %d held decision(s)", asked)
        for decision_id in self.engine.expire_overdue():
            log.info("decision %s expired without a verdict; it does not run", decision_id)
