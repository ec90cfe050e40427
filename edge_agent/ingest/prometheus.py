"""Scrape Prometheus or OpenMetrics text from exporters and turn samples into records.

Samples are grouped into one candidate per (source, timestamp): the source is the value of
the target's `source_label` when a sample has it, else the target's fixed `source`. A metric
is named by its sample name, plus its remaining labels in canonical form when it has any
(`node_hwmon_temp_celsius{chip="0",sensor="temp1"}`), so that schema aliases can map either.
`include` patterns select which metrics a target contributes; the others are counted as
filtered, never silently lost. An exposition that does not parse is quarantined whole.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from edge_agent.ingest.writer import Inbound, IngestWriter
from edge_agent.settings import PrometheusTarget
from edge_agent.store import AgentStore
from edgeward.records import Candidate, QuarantineReason, Rejection
from edgeward.workers import PeriodicWorker

log = logging.getLogger(__name__)
ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@dataclass(kw_only=True, slots=True)
class Exposition:
    """What one scrape yielded: candidates or a rejection, and how many samples were filtered."""

    entries: list[Candidate | Rejection] = field(default_factory=list)
    filtered: int = 0


def metric_key(name: str, labels: dict[str, str]) -> str:
    """Name a sample: its name, plus its labels sorted by name when it has any."""
    if not labels:
        return name
    inner = ",".join(f'{key}="{labels[key]}"' for key in sorted(labels))
    return f"{name}{{{inner}}}"


def parse_exposition(
    body: bytes,
    *,
    target: PrometheusTarget,
    openmetrics: bool,
    scrape_ts: float,
) -> Exposition:
    """Turn one scraped body into candidates (one per source and instant)."""
    origin = f"prometheus:{target.url}"
    result = Exposition()
    try:
        text = body.decode("utf-8")
        parse = parse_openmetrics if openmetrics else parse_prometheus
        families = list(parse(text))
    except UnicodeDecodeError as err:
        result.entries.append(
            _reject(origin, body, QuarantineReason.INVALID_UTF8, f"not UTF-8 at byte {err.start}")
        )
        return result
    except (ValueError, TypeError, KeyError, IndexError) as err:
        result.entries.append(
            _reject(
                origin,
                body,
                QuarantineReason.BAD_EXPOSITION,
                f"the exposition does not parse: {err}"[:500],
            )
        )
        return result
    include = [re.compile(pattern) for pattern in target.include]
    groups: dict[tuple[str, float], dict[str, Any]] = {}
    for family in families:
        for sample in family.samples:
            labels = dict(sample.labels)
            source = labels.pop(target.source_label, None) if target.source_label else None
            key = metric_key(sample.name, labels)
            if include and not any(p.fullmatch(key) or p.fullmatch(sample.name) for p in include):
                result.filtered += 1
                continue
            ts = float(sample.timestamp) if sample.timestamp is not None else scrape_ts
            groups.setdefault((source or target.source, ts), {})[key] = sample.value
    for (source, ts), metrics in groups.items():
        result.entries.append(Candidate(origin=origin, source=source, ts=ts, metrics=metrics))
    return result


def _reject(origin: str, raw: bytes, reason: QuarantineReason, detail: str) -> Rejection:
    return Rejection(origin=origin, raw=raw, reason=reason, detail=detail)


class PrometheusScraper(PeriodicWorker):
    """Scrape one target at its interval and submit what it exposes to the writer."""

    def __init__(
        self,
        target: PrometheusTarget,
        writer: IngestWriter,
        store: AgentStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name=f"prometheus {target.url}", interval_s=target.interval_s)
        self._target = target
        self._writer = writer
        self._store = store
        self._clock = clock

    def tick(self) -> None:
        """Scrape once."""
        self.scrape_once()

    def scrape_once(self) -> bool:
        """Fetch the target once and submit the result; return whether the fetch worked.

        A failed fetch (refused, timeout, HTTP error) has no data to quarantine: it is
        counted in the `prometheus.scrape_errors` counter and logged.
        """
        target = self._target
        request = urllib.request.Request(target.url, headers={"Accept": ACCEPT})  # noqa: S310
        scrape_ts = self._clock()
        try:
            with urllib.request.urlopen(request, timeout=target.timeout_s) as response:  # noqa: S310
                body = response.read(target.max_bytes + 1)
                content_type = response.headers.get("Content-Type", "")
        except (urllib.error.URLError, OSError, ValueError) as err:
            log.warning("scraping %s failed: %s", target.url, err)
            self._store.increment_counters({"prometheus.scrape_errors": 1})
            return False
        origin = f"prometheus:{target.url}"
        if len(body) > target.max_bytes:
            entries: list[Candidate | Rejection] = [
                _reject(
                    origin,
                    body,
                    QuarantineReason.PAYLOAD_TOO_LARGE,
                    f"more than {target.max_bytes} bytes; raise the target's max_bytes",
                )
            ]
            filtered = 0
        else:
            exposition = parse_exposition(
                body,
                target=target,
                openmetrics="openmetrics" in content_type,
                scrape_ts=scrape_ts,
            )
            entries, filtered = exposition.entries, exposition.filtered
        counters = {"prometheus.scrapes": 1, "prometheus.samples_filtered": filtered}
        self._store.increment_counters({k: v for k, v in counters.items() if v})
        self._writer.submit(Inbound(origin=origin, raw=body, decode=lambda: entries))
        return True
