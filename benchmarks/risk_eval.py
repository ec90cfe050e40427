"""Risk screening on the labelled decisions' test split: rules, the LLM layer, both combined.

The LLM layer's head is tuned on the train split only (`edgeward risk tune` does the same, and
reuses a cached head); every figure below is on the test split it never saw. The LLM runs with
no time limit here so that its own accuracy is measured; its latency is reported apart.

Prints one JSON object: `rules`, `llm` and `combined` sections (accuracy, macro_f1,
recall_high_critical), `majority_baseline_accuracy`, `llm_latency_p50_s`, `llm_latency_p95_s`,
and `critical_run_without_admin` (critical-labelled cases the combined screening would let run
without an admin; goal 0). Goals: combined recall of high+critical >= 0.95; the LLM clearly
above the majority baseline; LLM latency p50 < 1 s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgeward.risk import RiskLevel
from edgeward.risk.cases import load_cases, split_cases
from edgeward.risk.llm import LlmScreener, ensure_head, load_llm_settings
from edgeward.risk.metrics import (
    latency_percentiles,
    majority_baseline_accuracy,
    screen_metrics,
)
from edgeward.risk.rules import apply_rules
from edgeward.risk.screening import Outcome, RiskScreener


def main() -> None:
    train, test = split_cases(load_cases())
    settings = load_llm_settings()
    ensure_head(settings)
    llm = LlmScreener.load(settings)
    truth = [case.label for case in test]
    combined = RiskScreener(llm=llm, llm_timeout_s=120.0, cache_size=0)
    rules_levels: list[RiskLevel] = []
    llm_levels: list[RiskLevel] = []
    combined_levels: list[RiskLevel] = []
    latencies: list[float] = []
    critical_run = 0
    try:
        for case in test:
            rules_levels.append(apply_rules(case.decision).level)
            verdict = llm.assess(case.decision)
            llm_levels.append(verdict.level)
            latencies.append(verdict.latency_s)
            screening = combined.screen(case.decision)
            combined_levels.append(screening.level)
            ran = screening.outcome in (Outcome.RUN, Outcome.RUN_AND_NOTIFY)
            critical_run += case.label == "critical" and ran
    finally:
        combined.close()
    latency = latency_percentiles(latencies)
    llm_metrics = screen_metrics(truth, llm_levels)
    majority = majority_baseline_accuracy([case.label for case in train], truth)
    print(
        json.dumps(
            {
                "test_cases": len(test),
                "train_cases": len(train),
                "rules": screen_metrics(truth, rules_levels),
                "llm": llm_metrics,
                "combined": screen_metrics(truth, combined_levels),
                "majority_baseline_accuracy": majority,
                "llm_accuracy_gain_over_majority": round(llm_metrics["accuracy"] - majority, 4),
                "llm_latency_p50_s": latency["latency_p50_s"],
                "llm_latency_p95_s": latency["latency_p95_s"],
                "critical_run_without_admin": critical_run,
                "goals": {
                    "combined.recall_high_critical": ">= 0.95",
                    "critical_run_without_admin": "<= 0",
                    "llm_accuracy_gain_over_majority": ">= 0.1",
                    "llm_latency_p50_s": "< 1",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
