"""One training run on the fleet: statistics, federated rounds, champion-vs-challenger, submit.

1. Wait for enough SuperNodes, fix a data cut-off, and ask every site for normalisation
   statistics and a description of its data (`query.stats`); merge the statistics.
2. Skip the run if fewer new rows arrived since this challenger's last run than configured.
3. Start from the champion's weights when its model is the same kind and shape, else fresh.
4. Run the configured Flower strategy for the configured rounds.
5. Evaluate challenger and champion on every site's holdout in the same message.
6. Submit the challenger to the registry inbox as a bundle with per-site metrics and lineage.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from flwr.app import ConfigRecord, Message, RecordDict
from flwr.serverapp import Grid

from aggregator.outcomes import RunOutcome
from aggregator.run_config import RunConfig
from aggregator.strategies import StrategyOptions, build_strategy
from edgeward import fl_protocol as fp
from edgeward.bundles import (
    CHAMPION,
    RegistryLayout,
    read_alias,
    read_alias_pointer,
    submit_bundle,
)
from edgeward.errors import EdgewardError
from edgeward.fl_records import (
    Arrays,
    config_record,
    from_record,
    metric_record,
    number,
    text,
    to_record,
)
from edgeward.models import FeatureStats, ModelSpec, build_model, state_to_arrays
from edgeward.schema import load_schema

log = logging.getLogger(__name__)
NODE_POLL_S = 1.0


class RunAborted(EdgewardError):
    """The run cannot go on (too few sites, no data); the outcome says why."""


@dataclass(kw_only=True, slots=True, frozen=True)
class Champion:
    """The model a challenger is compared with (and starts from, when compatible)."""

    version: int | None
    spec: ModelSpec
    arrays: Arrays


class TrainingRun:
    """Carry out one run against a Grid (deployment or simulation alike)."""

    def __init__(
        self,
        grid: Grid,
        config: RunConfig,
        *,
        run_id: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.grid = grid
        self.config = config
        self.run_id = run_id
        self.clock = clock
        self.timings: dict[str, float] = {}

    def execute(self) -> RunOutcome:
        """Run every step; any failure becomes a failed outcome with its reason."""
        try:
            return self._execute()
        except RunAborted as err:
            return self._outcome("skipped" if "new rows" in str(err) else "failed", str(err))
        except EdgewardError as err:
            log.exception("run %s failed", self.run_id)
            return self._outcome("failed", str(err))

    def _execute(self) -> RunOutcome:
        config = self.config
        features = config.feature_names(load_schema().feature_names)
        nodes = self._timed("wait_for_nodes", self._wait_for_nodes)
        cutoff_ms = int(self.clock() * 1000)
        summaries, stats = self._timed(
            "statistics", lambda: self._query_statistics(nodes, features, cutoff_ms)
        )
        total_rows = sum(s.rows for s in summaries.values())
        new_rows = total_rows - config.previous_total_rows
        if new_rows < config.min_new_rows:
            raise RunAborted(
                f"only {new_rows} new rows since the last run (needs {config.min_new_rows})"
            )
        spec = ModelSpec(
            kind=config.model,
            features=features,
            window=config.window,
            hidden=config.hidden,
            score_horizon=config.score_horizon,
        )
        champion = self._champion()
        start = champion.arrays if champion and _compatible(champion.spec, spec) else None
        initial = start or state_to_arrays(build_model(spec, seed=config.seed))
        train_config = self._base_config(spec, stats, cutoff_ms)
        train_config.update(
            {
                fp.EPOCHS: config.epochs,
                fp.BATCH_SIZE: config.batch_size,
                fp.LEARNING_RATE: config.lr,
                fp.SEED: config.seed,
            }
        )
        strategy = build_strategy(
            StrategyOptions(
                name=config.strategy,
                min_nodes=config.min_nodes,
                params=config.model_dump(by_alias=True),
                dp=config.dp,
                dp_noise_multiplier=config.dp_noise_multiplier,
                dp_clipping_norm=config.dp_clipping_norm,
            )
        )
        result = self._timed(
            "rounds",
            lambda: strategy.start(
                grid=self.grid,
                initial_arrays=to_record(initial),
                num_rounds=config.rounds,
                timeout=config.round_timeout_s,
                train_config=ConfigRecord(train_config),
            ),
        )
        challenger = from_record(result.arrays) if result.arrays else initial
        # Sites that dropped out and came back have new node ids: evaluate whoever is here now.
        nodes = self._wait_for_nodes()
        evaluations = self._timed(
            "evaluation",
            lambda: self._evaluate(nodes, spec, stats, cutoff_ms, challenger, champion),
        )
        submission = self._submit(spec, stats, challenger, champion, summaries, evaluations, result)
        return self._outcome(
            "completed",
            f"{len(evaluations)} sites evaluated",
            total_rows=total_rows,
            submission=submission,
            sites=sorted(summaries),
            metrics={"per_site": {s: asdict(e) for s, e in evaluations.items()}},
        )

    def _wait_for_nodes(self) -> list[int]:
        deadline = time.monotonic() + self.config.node_wait_s
        while True:
            nodes = sorted(self.grid.get_node_ids())
            if len(nodes) >= self.config.min_nodes:
                return nodes
            if time.monotonic() >= deadline:
                raise RunAborted(
                    f"{len(nodes)} SuperNodes connected; the run needs {self.config.min_nodes}"
                )
            time.sleep(NODE_POLL_S)

    def _query_statistics(
        self, nodes: list[int], features: tuple[str, ...], cutoff_ms: int
    ) -> tuple[dict[str, fp.SiteDataSummary], FeatureStats]:
        config = ConfigRecord(
            {
                fp.CUTOFF_MS: cutoff_ms,
                fp.FEATURES: list(features),
                fp.WINDOW: self.config.window,
                fp.HOLDOUT_FRACTION: self.config.holdout_fraction,
                fp.HOLD_REASON: f"run {self.run_id} challenger {self.config.challenger}",
            }
        )
        replies = self._send(nodes, fp.QUERY_STATS, RecordDict({fp.CONFIG: config}))
        summaries: dict[str, fp.SiteDataSummary] = {}
        stats = FeatureStats.empty(features)
        for reply in replies:
            summary = fp.SiteDataSummary.from_config(config_record(reply, fp.SITE))
            summaries[summary.site] = summary
            record = metric_record(reply, fp.STATS)
            site_stats = {key: number(record, key) for key in record}
            stats = stats.merge(FeatureStats.from_dict(site_stats, features))
        usable = [s for s in summaries.values() if s.windows_train > 0]
        if len(usable) < self.config.min_nodes:
            raise RunAborted(
                f"{len(usable)} sites have data to train on; the run needs {self.config.min_nodes}"
            )
        return summaries, stats

    def _base_config(self, spec: ModelSpec, stats: FeatureStats, cutoff_ms: int) -> dict[str, Any]:
        return {
            fp.SPEC: json.dumps(spec.to_dict()),
            fp.FEATURE_STATS: json.dumps(stats.to_dict()),
            fp.CUTOFF_MS: cutoff_ms,
            fp.HOLDOUT_FRACTION: self.config.holdout_fraction,
        }

    def _champion(self) -> Champion | None:
        registry = self.config.registry
        if registry is None:
            return None
        layout = RegistryLayout(registry)
        pointer = read_alias_pointer(layout, CHAMPION)
        bundle = read_alias(layout, CHAMPION)
        if pointer is None or bundle is None:
            return None
        return Champion(
            version=pointer.version,
            spec=ModelSpec.from_dict(bundle.manifest.model_spec),
            arrays=dict(bundle.arrays),
        )

    def _evaluate(
        self,
        nodes: list[int],
        spec: ModelSpec,
        stats: FeatureStats,
        cutoff_ms: int,
        challenger: Arrays,
        champion: Champion | None,
    ) -> dict[str, fp.SiteEvaluation]:
        config = self._base_config(spec, stats, cutoff_ms)
        content = RecordDict({fp.CHALLENGER: to_record(challenger)})
        if champion is not None and _compatible(champion.spec, spec):
            content[fp.CHAMPION] = to_record(champion.arrays)
            config[fp.CHAMPION_SPEC] = json.dumps(champion.spec.to_dict())
        content[fp.CONFIG] = ConfigRecord(config)
        evaluations: dict[str, fp.SiteEvaluation] = {}
        for reply in self._send(nodes, fp.EVALUATE, content):
            site = text(config_record(reply, fp.SITE), "site")
            evaluation = fp.SiteEvaluation.from_metrics(site, metric_record(reply, fp.METRICS))
            if evaluation.examples > 0:
                evaluations[site] = evaluation
        return evaluations

    def _submit(
        self,
        spec: ModelSpec,
        stats: FeatureStats,
        challenger: Arrays,
        champion: Champion | None,
        summaries: dict[str, fp.SiteDataSummary],
        evaluations: dict[str, fp.SiteEvaluation],
        result: Any,
    ) -> str | None:
        registry = self.config.registry
        if registry is None:
            return None
        schema_hashes = sorted({s.schema_hash for s in summaries.values()})
        lineage = {
            "run_id": self.run_id,
            "challenger": self.config.challenger,
            "rounds": self.config.rounds,
            "strategy": self.config.strategy,
            "hyperparameters": self.config.hyperparameters(),
            "sites": {site: asdict(summary) for site, summary in sorted(summaries.items())},
            "schema_hashes": schema_hashes,
            "started_from": champion.version if champion else None,
            "train_metrics": {str(r): dict(m) for r, m in result.train_metrics_clientapp.items()},
        }
        metrics = {
            "per_site": {site: asdict(e) for site, e in sorted(evaluations.items())},
            "fleet": _fleet_metrics(evaluations),
        }
        return submit_bundle(
            RegistryLayout(registry),
            arrays=challenger,
            name=self.config.challenger,
            schema_hash=schema_hashes[0] if len(schema_hashes) == 1 else ",".join(schema_hashes),
            model_spec=spec.to_dict(),
            normalisation=stats.to_dict(),
            lineage=lineage,
            metrics=metrics,
            parent_version=champion.version if champion else None,
        )

    def _send(self, nodes: Iterable[int], kind: str, content: RecordDict) -> list[Message]:
        messages = [Message(content=content, message_type=kind, dst_node_id=n) for n in nodes]
        replies = list(self.grid.send_and_receive(messages, timeout=self.config.round_timeout_s))
        good = [r for r in replies if not r.has_error()]
        for reply in replies:
            if reply.has_error():
                log.warning(
                    "%s failed on node %s: %s", kind, reply.metadata.src_node_id, reply.error.reason
                )
        return good

    def _timed(self, step: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.timings[step] = round(time.perf_counter() - started, 3)

    def _outcome(self, status: Any, detail: str, **fields: Any) -> RunOutcome:
        return RunOutcome(
            run_id=self.run_id,
            status=status,
            detail=detail,
            challenger=self.config.challenger,
            timings_s=dict(self.timings),
            finished_at=self.clock(),
            **fields,
        )


def _compatible(champion: ModelSpec, challenger: ModelSpec) -> bool:
    return champion.to_dict() == challenger.to_dict()


def _fleet_metrics(evaluations: dict[str, fp.SiteEvaluation]) -> dict[str, float]:
    """Return example-weighted fleet MAE of challenger and champion (where both exist)."""
    total = sum(e.examples for e in evaluations.values())
    if not total:
        return {}
    fleet = {
        "challenger_mae": sum(e.challenger_mae * e.examples for e in evaluations.values()) / total
    }
    paired = [e for e in evaluations.values() if e.champion_mae is not None]
    if paired and len(paired) == len(evaluations):
        fleet["champion_mae"] = sum((e.champion_mae or 0.0) * e.examples for e in paired) / total
    return fleet
