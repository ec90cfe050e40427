"""The batch screening behind `edgeward risk assess`: a verdict per line, errors kept."""

from __future__ import annotations

import json
from pathlib import Path

from edgeward.cli.risk_assess import run_assess


def test_every_line_gets_a_verdict_or_an_error(tmp_path: Path) -> None:
    source = tmp_path / "decisions.jsonl"
    lines = [
        {"id": "a", "action": "offload_traffic", "target": "c1", "summary": "s", "context": {}},
        {"id": "b", "action": "sleep_cell", "target": "c1", "summary": "s", "context": {}},
        {"id": "c", "action": "nuke_site", "summary": "s", "context": {}},
        {"id": "d", "action": "restart_node", "summary": "s", "context": {"peak_hour": True}},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    target = tmp_path / "verdicts.jsonl"

    counts = run_assess(source, target, llm=None, timeout_s=1.0)

    verdicts = [json.loads(line) for line in target.read_text().splitlines()]
    assert [v["line"] for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[0]["level"] == "low"
    assert verdicts[1]["level"] == "high", "sleeping a cell traffic was just offloaded to"
    assert verdicts[2]["error"].startswith("action: Input should be")
    assert verdicts[3]["level"] == "critical"
    assert [layer["layer"] for layer in verdicts[3]["layers"]] == ["rules", "llm"]
    assert counts == {"low": 1, "high": 1, "errors": 1, "critical": 1}
