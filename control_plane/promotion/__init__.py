"""The promotion gate: does a challenger beat the champion well enough to roll out?"""

from control_plane.promotion.gate import GateConfig, GateReport, RuleResult, evaluate_gate
from control_plane.promotion.judging import judge_version

__all__ = ["GateConfig", "GateReport", "RuleResult", "evaluate_gate", "judge_version"]
