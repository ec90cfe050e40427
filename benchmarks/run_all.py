"""Run every benchmark script and write benchmarks/RESULTS.md (and results.json beside it).

Each script prints one JSON object as the last thing on its standard output (on one line, or
indented). A `goals` entry maps a key to a condition such as ">= 0.8"; nested figures are
named with dots (`combined.recall_high_critical`). The table shows each figure beside its
goal and whether it was met in the run that measured it.

`run_all.py NAME ...` runs only the named benchmarks and keeps the others' last figures from
results.json, each with the time it was measured, so one slow or failed benchmark can be run
again without the whole hour.
"""

from __future__ import annotations

import argparse
import json
import operator
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def last_json_object(stdout: str) -> dict[str, Any] | None:
    """Return the last JSON object printed at the start of a line of `stdout`, if any."""
    lines = stdout.splitlines()
    decoder = json.JSONDecoder()
    for start in reversed(range(len(lines))):
        if not lines[start].startswith("{"):
            continue
        try:
            found, _ = decoder.raw_decode("\n".join(lines[start:]))
        except json.JSONDecodeError:
            continue  # an object nested in an indented one: look further up
        if isinstance(found, dict):
            return found
    return None


def flatten(figures: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Name nested figures with dots, so each is one row with its own goal."""
    flat: dict[str, Any] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "goals" and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def run(script: Path) -> dict[str, Any]:
    """Run one benchmark and return its figures (or the error it ended with)."""
    started = time.monotonic()
    measured_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=3600, check=False
    )
    found = last_json_object(result.stdout)
    if result.returncode != 0 or found is None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        return {"error": tail or [f"exit code {result.returncode}"], "measured_at": measured_at}
    figures = flatten(found)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["measured_at"] = measured_at
    return figures


def verdict(value: Any, condition: str) -> str:
    """Say whether `value` meets a condition like '>= 0.8'."""
    symbol, _, threshold = condition.partition(" ")
    try:
        met = COMPARE[symbol](float(value), float(threshold))
    except (KeyError, TypeError, ValueError):
        return "**no figure**"
    return "met" if met else "**not met**"


def render(results: dict[str, dict[str, Any]]) -> str:
    """Return the Markdown report."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.machine()}, Python {platform.python_version()}. Each figure is measured "
        "beside its ceiling or peer in the same run; `measured_at` says when.",
        "",
        "| benchmark | figure | value | goal | verdict |",
        "|---|---|---|---|---|",
    ]
    for name, stored in results.items():
        figures = dict(stored)
        if "error" in figures:
            lines.append(f"| {name} | error | {' '.join(figures['error'])} | | failed |")
            continue
        goals: dict[str, str] = figures.pop("goals", {})
        for key, value in figures.items():
            goal = goals.get(key, "")
            lines.append(
                f"| {name} | {key} | {value} | {goal} | {verdict(value, goal) if goal else ''} |"
            )
        for key in sorted(set(goals) - set(figures)):
            lines.append(f"| {name} | {key} | (missing) | {goals[key]} | **no figure** |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmarks asked for (all by default) and write RESULTS.md and results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="Benchmarks to run (default: every one).")
    args = parser.parse_args()
    scripts = {
        script.stem: script
        for script in sorted(HERE.glob("*.py"))
        if script.name != Path(__file__).name and not script.name.startswith("_")
    }
    unknown = sorted(set(args.names) - set(scripts))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(scripts)}")
    previous: dict[str, dict[str, Any]] = (
        json.loads(RESULTS_JSON.read_text()) if args.names and RESULTS_JSON.exists() else {}
    )
    results: dict[str, dict[str, Any]] = {}
    for name, script in scripts.items():
        if args.names and name not in args.names:
            if name in previous:
                results[name] = previous[name]
            continue
        print(f"running {script.name} ...", flush=True)
        results[name] = run(script)
        print(json.dumps(results[name]), flush=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
    (HERE / "RESULTS.md").write_text(render(results))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
