"""Run every benchmark script and write benchmarks/RESULTS.md.

Each script prints one JSON object as its last line of output. A `goals` entry maps a key to
a condition such as ">= 0.8"; the table shows each figure beside its goal and whether it
was met in this run.
"""

from __future__ import annotations

import json
import operator
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def run(script: Path) -> dict[str, Any]:
    """Run one benchmark and return its JSON result (or the error it ended with)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=3600, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith("{")]
    if result.returncode != 0 or not lines:
        return {"error": (result.stderr or result.stdout).strip().splitlines()[-1:]}
    figures: dict[str, Any] = json.loads(lines[-1])
    figures["wall_s"] = round(time.monotonic() - started, 1)
    return figures


def verdict(value: Any, condition: str) -> str:
    """Say whether `value` meets a condition like '>= 0.8'."""
    symbol, _, threshold = condition.partition(" ")
    met = COMPARE[symbol](float(value), float(threshold))
    return "met" if met else "**not met**"


def render(results: dict[str, dict[str, Any]]) -> str:
    """Return the Markdown report."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.machine()}, Python {platform.python_version()}. Each figure is measured "
        "beside its ceiling or peer in the same run.",
        "",
        "| benchmark | figure | value | goal | verdict |",
        "|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        if "error" in figures:
            lines.append(f"| {name} | error | {' '.join(figures['error'])} | | failed |")
            continue
        goals: dict[str, str] = figures.pop("goals", {})
        for key, value in figures.items():
            goal = goals.get(key, "")
            lines.append(
                f"| {name} | {key} | {value} | {goal} | {verdict(value, goal) if goal else ''} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run each script in this folder and write RESULTS.md."""
    results = {}
    for script in sorted(HERE.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue
        print(f"running {script.name} ...", flush=True)
        results[script.stem] = run(script)
        print(json.dumps(results[script.stem]), flush=True)
    (HERE / "RESULTS.md").write_text(render(results))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
