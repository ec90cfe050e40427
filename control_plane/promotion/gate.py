"""Judge a challenger against the champion from its per-site evaluation and lineage.

Rules (all must pass; each is reported with its numbers):

- `min_sites`: the challenger was evaluated on enough sites to judge it.
- `fleet_improvement`: its example-weighted fleet MAE beats the champion's by `min_improvement`
  (relative). Both were scored in the same run on the same holdout windows.
- `win_share`: it wins on at least `min_win_share` of the sites, and the wins are unlikely
  under "no difference" (a one-sided sign test across sites, p at most `significance`;
  1.0 turns the test off).
- `max_site_regression`: no site's MAE is worse than the champion's by more than the bound.
- `training_quarantine_rate`: the data it was trained on was not mostly quarantined input
  (quarantined / (stored + quarantined) over the training period, all sites).

Without a champion (the first model) there is nothing to compare: the comparison rules pass
with that said, the others still apply.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(kw_only=True, slots=True, frozen=True)
class GateConfig:
    """Thresholds of the gate, and whether a pass starts a rollout by itself."""

    min_sites: int = 2
    min_improvement: float = 0.01
    min_win_share: float = 0.6
    significance: float = 0.15
    max_site_regression: float = 0.10
    max_quarantine_rate: float = 0.05
    mode: Literal["auto", "manual"] = "auto"


@dataclass(kw_only=True, slots=True, frozen=True)
class RuleResult:
    """One rule's verdict and the numbers behind it."""

    rule: str
    passed: bool
    value: float | None
    threshold: float | None
    detail: str


@dataclass(kw_only=True, slots=True, frozen=True)
class GateReport:
    """The gate's whole verdict for one challenger."""

    challenger_version: int
    champion_version: int | None
    passed: bool
    rules: list[RuleResult] = field(default_factory=list)
    decided_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (kept with the alias move that follows it)."""
        return asdict(self)

    def summary(self) -> str:
        """Return one line naming the failed rules, or saying that every rule passed."""
        failed = [r for r in self.rules if not r.passed]
        if not failed:
            return "every rule passed"
        return "; ".join(f"{r.rule}: {r.detail}" for r in failed)


def sign_test_p_value(wins: int, trials: int) -> float:
    """Return P(at least `wins` wins in `trials` fair coin flips): one-sided sign test."""
    if trials == 0:
        return 1.0
    favourable = sum(math.comb(trials, k) for k in range(wins, trials + 1))
    return float(favourable) / float(2**trials)


def evaluate_gate(
    *,
    challenger_version: int,
    champion_version: int | None,
    metrics: dict[str, Any],
    lineage: dict[str, Any],
    config: GateConfig,
    now: float | None = None,
) -> GateReport:
    """Apply every rule to a challenger's manifest metrics and lineage."""
    per_site: dict[str, dict[str, Any]] = metrics.get("per_site", {})
    sites = {s: m for s, m in per_site.items() if m.get("examples", 0) > 0}
    rules = [_min_sites(sites, config), _quarantine(lineage, config)]
    paired = {s: m for s, m in sites.items() if m.get("champion_mae") is not None}
    if champion_version is None or not paired:
        rules.append(
            RuleResult(
                rule="comparison",
                passed=True,
                value=None,
                threshold=None,
                detail="no champion to compare with: this is the first model",
            )
        )
    else:
        rules += [_improvement(paired, config), _wins(paired, config), _regression(paired, config)]
    return GateReport(
        challenger_version=challenger_version,
        champion_version=champion_version,
        passed=all(r.passed for r in rules),
        rules=rules,
        decided_at=time.time() if now is None else now,
    )


def _min_sites(sites: dict[str, Any], config: GateConfig) -> RuleResult:
    count = len(sites)
    return RuleResult(
        rule="min_sites",
        passed=count >= config.min_sites,
        value=count,
        threshold=config.min_sites,
        detail=f"evaluated on {count} sites, needs {config.min_sites}",
    )


def _quarantine(lineage: dict[str, Any], config: GateConfig) -> RuleResult:
    summaries = lineage.get("sites", {}).values()
    stored = sum(int(s.get("rows", 0)) for s in summaries)
    quarantined = sum(int(s.get("quarantined", 0)) for s in summaries)
    rate = quarantined / (stored + quarantined) if stored + quarantined else 0.0
    return RuleResult(
        rule="training_quarantine_rate",
        passed=rate <= config.max_quarantine_rate,
        value=round(rate, 5),
        threshold=config.max_quarantine_rate,
        detail=f"{quarantined} of {stored + quarantined} inputs quarantined "
        f"({rate:.2%}), at most {config.max_quarantine_rate:.2%}",
    )


def _weighted(paired: dict[str, Any], key: str) -> float:
    total = sum(float(m["examples"]) for m in paired.values())
    return sum(float(m[key]) * float(m["examples"]) for m in paired.values()) / total


def _improvement(paired: dict[str, Any], config: GateConfig) -> RuleResult:
    challenger, champion = _weighted(paired, "challenger_mae"), _weighted(paired, "champion_mae")
    gain = (champion - challenger) / champion if champion else 0.0
    return RuleResult(
        rule="fleet_improvement",
        passed=gain >= config.min_improvement,
        value=round(gain, 5),
        threshold=config.min_improvement,
        detail=f"fleet MAE {challenger:.4f} vs champion {champion:.4f} "
        f"({gain:+.2%}), needs {config.min_improvement:+.2%}",
    )


def _wins(paired: dict[str, Any], config: GateConfig) -> RuleResult:
    wins = sum(m["challenger_mae"] < m["champion_mae"] for m in paired.values())
    share = wins / len(paired)
    p_value = sign_test_p_value(wins, len(paired))
    passed = share >= config.min_win_share and p_value <= config.significance
    return RuleResult(
        rule="win_share",
        passed=passed,
        value=round(share, 4),
        threshold=config.min_win_share,
        detail=f"better on {wins} of {len(paired)} sites ({share:.0%}, sign test "
        f"p={p_value:.3f}); needs {config.min_win_share:.0%} and "
        f"p<={config.significance}",
    )


def _regression(paired: dict[str, Any], config: GateConfig) -> RuleResult:
    worst_site, worst = max(
        (
            (s, (float(m["challenger_mae"]) - float(m["champion_mae"])) / float(m["champion_mae"]))
            for s, m in paired.items()
        ),
        key=lambda item: item[1],
    )
    return RuleResult(
        rule="max_site_regression",
        passed=worst <= config.max_site_regression,
        value=round(worst, 5),
        threshold=config.max_site_regression,
        detail=f"worst site {worst_site}: {worst:+.2%} MAE vs champion, at most "
        f"{config.max_site_regression:+.2%}",
    )
