"""`edgeward risk ...`: tune and evaluate the on-device LLM layer of risk screening.

More commands (`assess`) join this app; the options below are shared so they read the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from edgeward.cli.options import JsonOption
from edgeward.cli.progress import count_progress
from edgeward.cli.risk_assess import InputOption, OutputOption, run_assess
from edgeward.errors import EdgewardError
from edgeward.risk.cases import LABELLED_CASES
from edgeward.risk.llm.evaluation import ensure_head, evaluate
from edgeward.risk.llm.screener import LlmScreener
from edgeward.risk.llm.settings import LlmSettings, load_llm_settings
from edgeward.risk.llm.tuning import ProgressCallback, tune

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()
progress_console = Console(stderr=True)

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="A GGUF file (default: the packaged Gemma 3 270M model)."),
]
CasesOption = Annotated[
    Path, typer.Option("--cases", help="Labelled cases (JSON lines); split into train/test.")
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Where tuned heads live (default ~/.cache/edgeward/risk)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="A TOML settings file (read from its risk_llm table)."),
]
EpochsOption = Annotated[
    int | None, typer.Option("--max-epochs", min=1, help="Training steps for the head (for CI).")
]


@app.callback()
def risk() -> None:
    """Screen decisions for risk; tune and evaluate the LLM layer."""


def llm_settings(*, config: Path | None, model: Path | None, cache_dir: Path | None) -> LlmSettings:
    """Return the LLM layer's settings with the command's flags applied."""
    return load_llm_settings(
        config_file=config, flags={"model_path": model, "cache_dir": cache_dir}
    )


@app.command("tune")
def tune_command(
    model: ModelOption = None,
    cases: CasesOption = LABELLED_CASES,
    verdicts: Annotated[
        Path | None,
        typer.Option("--verdicts", help="Operators' verdicts (same format) to learn from too."),
    ] = None,
    cache_dir: CacheDirOption = None,
    config: ConfigOption = None,
    max_epochs: EpochsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the risk head for a model on the train split; show test accuracy before/after."""
    settings = llm_settings(config=config, model=model, cache_dir=cache_dir)
    with _embedding_progress("embedding cases") as progress:
        report = tune(
            settings,
            cases_path=cases,
            verdicts_path=verdicts,
            max_epochs=max_epochs,
            on_progress=progress,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    before = "none" if report.before is None else f"{report.before['accuracy']:.2f}"
    console.print(f"head saved to {report.head_path}")
    console.print(
        f"test accuracy: before {before}, after {report.after['accuracy']:.2f} "
        f"(majority baseline {report.majority_baseline_accuracy:.2f}; "
        f"{report.n_train} train + {report.n_verdicts} verdicts, {report.n_test} test cases)"
    )


@app.command("eval")
def eval_command(
    model: ModelOption = None,
    cases: CasesOption = LABELLED_CASES,
    cache_dir: CacheDirOption = None,
    config: ConfigOption = None,
    max_epochs: EpochsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure a GGUF on the test split (tuning a head for it first if needed)."""
    settings = llm_settings(config=config, model=model, cache_dir=cache_dir)
    with _embedding_progress("tuning: embedding cases") as progress:
        tuned = ensure_head(settings, cases_path=cases, max_epochs=max_epochs, on_progress=progress)
    with _embedding_progress("assessing test cases") as progress:
        metrics: dict[str, Any] = evaluate(settings, cases_path=cases, on_progress=progress)
    metrics["tuned_now"] = tuned is not None
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    console.print(_metrics_text(metrics))


def _metrics_text(metrics: dict[str, Any]) -> str:
    return "\n".join(
        (
            f"model {metrics['model_key']} (route {metrics['route']}), "
            f"{metrics['n_test']} test cases",
            f"accuracy              {metrics['accuracy']:.3f}",
            f"majority baseline     {metrics['majority_baseline_accuracy']:.3f}",
            f"macro-F1              {metrics['macro_f1']:.3f}",
            f"recall high+critical  {metrics['recall_high_critical']:.3f}",
            f"latency p50 / p95     {metrics['latency_p50_s']:.3f} s / "
            f"{metrics['latency_p95_s']:.3f} s",
        )
    )


@contextmanager
def _embedding_progress(label: str) -> Iterator[ProgressCallback]:
    """Yield a callback that drives a progress bar on stderr (shown once work starts)."""
    with count_progress(label, console=progress_console) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@app.command("assess")
def assess_command(
    source: InputOption,
    target: OutputOption,
    model: ModelOption = None,
    config: ConfigOption = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="Screen with the guardrail rules alone.")
    ] = False,
    timeout_s: Annotated[
        float, typer.Option("--llm-timeout", min=0.01, help="Seconds the LLM may take a decision.")
    ] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """Screen decisions (JSON lines) into verdicts (JSON lines): level, layers, reasons, latency."""
    llm = None
    if not no_llm:
        try:
            llm = LlmScreener.load(llm_settings(config=config, model=model, cache_dir=None))
        except EdgewardError as err:
            progress_console.print(f"screening with the rules alone: {escape(str(err))}")
    counts = run_assess(source, target, llm, timeout_s)
    if as_json:
        console.print_json(json.dumps({"output": str(target), "counts": counts}))
    else:
        summary = ", ".join(f"{count} {key}" for key, count in sorted(counts.items()))
        console.print(f"wrote {target}: {summary or 'no decisions'}")
