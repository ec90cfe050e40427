"""The demo's scripted operator: a person at the approval desk, through the HTTP API.

It holds an API token like any script would and decides every request it sees: pipeline
promotions are approved (the story needs its models to move), agents' held decisions are
approved and denied in turn, and every n-th is left unanswered so that it expires.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

log = logging.getLogger(__name__)
API_PATH: Final = "/api/v1"
PIPELINE_SITE: Final = "control-plane"
CLOSED: Final = 409


class ApiClient:
    """GET and POST JSON on the control plane's API with one bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/") + API_PATH,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )

    def get(self, path: str, **params: Any) -> Any:
        """Return the JSON answer of GET `path`; raise `httpx.HTTPError` on failure."""
        response = self._client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """Return the JSON answer of POST `path`; raise `httpx.HTTPError` on failure."""
        response = self._client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


@dataclass(kw_only=True, slots=True)
class Verdict:
    """What the scripted operator did with one request."""

    decision_id: str
    site: str
    risk: str
    action: str
    verdict: str
    at: float


@dataclass(kw_only=True)
class ScriptedOperator:
    """Poll the approval desk and decide; keep what was decided for the report."""

    api: ApiClient
    every_s: float
    leave_every: int
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _agent_requests: int = 0
    _ending: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start deciding in a background thread."""
        self._thread = threading.Thread(target=self._run, name="demo-operator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop deciding."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.decide_pending()
            except httpx.HTTPError as err:
                log.warning("the scripted operator could not reach the API: %s", err)

    def decide_pending(self) -> None:
        """Decide every pending request not seen before."""
        for request in self.api.get("/approvals", status="pending", limit=100):
            decision_id = str(request["decision_id"])
            if decision_id in self._seen:
                continue
            self._seen.add(decision_id)
            verdict = self._choose(str(request["site"]))
            if verdict != "left":
                self._give(decision_id, verdict)
            self.verdicts.append(
                Verdict(
                    decision_id=decision_id,
                    site=str(request["site"]),
                    risk=str(request["risk"]),
                    action=str(request["decision"].get("action", "")),
                    verdict=verdict,
                    at=time.time(),
                )
            )

    def sweep(self) -> None:
        """Decide every request still pending, leaving none: the operator's last round.

        A promotion is denied now (no rollout should start as the demo ends); an agent's
        request is approved or denied in turn.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.leave_every = 0
        self._ending = True
        try:
            self.decide_pending()
            left = {v.decision_id for v in self.verdicts if v.verdict == "left"}
            for request in self.api.get("/approvals", status="pending", limit=100):
                if request["decision_id"] in left:
                    verdict = self._choose(str(request["site"]))
                    self._give(str(request["decision_id"]), verdict)
        except httpx.HTTPError as err:
            self.errors.append(f"the last round of decisions failed: {_sentence(err)}")

    def _choose(self, site: str) -> str:
        if site == PIPELINE_SITE:
            return "deny" if self._ending else "approve"
        self._agent_requests += 1
        if self.leave_every and self._agent_requests % self.leave_every == 0:
            return "left"
        return "approve" if self._agent_requests % 2 == 1 else "deny"

    def _give(self, decision_id: str, verdict: str) -> None:
        comment = (
            "demo operator: field team confirms, go ahead"
            if verdict == "approve"
            else "demo operator: not now, a technician is on the way"
        )
        try:
            self.api.post(f"/approvals/{decision_id}/{verdict}", {"comment": comment})
        except httpx.HTTPStatusError as err:
            if err.response.status_code != CLOSED:  # closed meanwhile (expired): nothing to do
                self.errors.append(f"{verdict} {decision_id}: {_sentence(err)}")
        except httpx.HTTPError as err:
            self.errors.append(f"{verdict} {decision_id}: {_sentence(err)}")

    def summary(self) -> dict[str, int]:
        """Return how many requests were approved, denied and left unanswered."""
        counts = {"approve": 0, "deny": 0, "left": 0}
        for verdict in self.verdicts:
            counts[verdict.verdict] += 1
        return {"approved": counts["approve"], "denied": counts["deny"], "left": counts["left"]}


def _sentence(err: httpx.HTTPError) -> str:
    if isinstance(err, httpx.HTTPStatusError):
        try:
            return str(err.response.json()["error"])
        except (ValueError, KeyError, TypeError):
            return f"HTTP {err.response.status_code}"
    return str(err)
