"""Figures of the load benchmark: percentiles, tallies, /proc readings and what was lost.

Kept apart from the processes that produce them, so that each rule (what counts as lost,
which window's p99 is reported) is stated once and tested without a fleet.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (0 for no values), as the server's stats compute it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(slots=True)
class Tally:
    """Messages of one kind: sent, answered (with round trips) and refused with an error."""

    sent: int = 0
    answered: int = 0
    refused: int = 0
    round_trips: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        """Return the counts and round-trip percentiles in milliseconds."""
        return {
            "sent": self.sent,
            "answered": self.answered,
            "refused": self.refused,
            "rtt_p50_ms": round(percentile(self.round_trips, 0.50) * 1000, 2),
            "rtt_p99_ms": round(percentile(self.round_trips, 0.99) * 1000, 2),
        }


def cpu_from_stat(stat: str, ticks_per_s: int) -> float:
    """Return user + system CPU seconds from the text of /proc/<pid>/stat."""
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"
    return (int(fields[11]) + int(fields[12])) / ticks_per_s


def mb_from_status(status: str, key: str) -> float:
    """Return a `kB` field of /proc/<pid>/status (VmRSS, VmHWM) in MB."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0]) / 1024
    raise ValueError(f"/proc status has no {key}")


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds a process has used."""
    return cpu_from_stat(Path(f"/proc/{pid}/stat").read_text(), os.sysconf("SC_CLK_TCK"))


def memory_mb(pid: int, key: str) -> float:
    """Return a process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    return mb_from_status(Path(f"/proc/{pid}/status").read_text(), key)


def handling(
    snapshots: list[dict[str, Any]], final: dict[str, Any], window_s: float
) -> dict[str, Any]:
    """Return the server's handling percentiles over the run's windows, and its totals.

    `snapshots` are the stats files read during the run, `final` the one written at stop.
    The p99 reported is the worst window's: a busy minute is not averaged away.
    """
    snapshots = [*snapshots, final] if final else snapshots
    p99s = [s["handling_p99_ms"] for s in snapshots]
    return {
        "messages_received": final.get("received", 0),
        "messages_per_s": round(final.get("received", 0) / window_s, 1),
        "handling_p50_ms": round(percentile([s["handling_p50_ms"] for s in snapshots], 0.5), 3),
        "handling_p99_ms": round(max(p99s, default=0.0), 3),
        "handling_p99_ms_median_window": round(percentile(p99s, 0.5), 3),
        "handling_max_ms": round(max((s["handling_max_ms"] for s in snapshots), default=0.0), 3),
        "control_plane_errors": final.get("errors", 0) + final.get("push_failures", 0),
    }


def delivery(light: dict[str, Any], full: dict[str, Any], stored: dict[str, int]) -> dict[str, Any]:
    """Return what agents sent against what the control plane answered and stored.

    Heartbeats are counted on the light agents: real links drop a heartbeat by design while
    their link is still connecting, which is no loss of the control plane's.
    """
    sent = {
        "heartbeats": light["heartbeat"]["sent"],
        "decision_reports": light["decision_report"]["sent"] + full["decision_reports_put"],
        "approval_requests": light["approval_request"]["sent"] + full["approval_requests_put"],
    }
    figures: dict[str, Any] = {}
    for name, count in sent.items():
        figures[f"{name}_sent"] = count
        figures[f"{name}_stored"] = stored[name]
        figures[f"{name}_lost"] = max(0, count - stored[name])
    kinds = [value for value in light.values() if isinstance(value, dict) and "sent" in value]
    figures["unanswered_messages"] = (
        sum(kind["sent"] - kind["answered"] for kind in kinds) + full["outbox_backlog"]
    )
    figures["heartbeat_rtt_p50_ms"] = light["heartbeat"]["rtt_p50_ms"]
    figures["heartbeat_rtt_p99_ms"] = light["heartbeat"]["rtt_p99_ms"]
    figures["heartbeat_rtt_p99_ms_outside_fetches"] = light["steady_heartbeat_rtt_p99_ms"]
    figures["load_generator_lateness_p99_ms"] = light["send_lateness_p99_ms"]
    figures["agent_errors"] = light["errors"]
    return figures
