"""Edgeward's Flower ServerApp: a thin adapter from Flower's entry point to `TrainingRun`."""

from __future__ import annotations

import logging

import torch
from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from aggregator.fast_grid import FastPollingGrid
from aggregator.outcomes import RunOutcome, write_outcome
from aggregator.run_config import RunConfig
from aggregator.training_run import TrainingRun
from edgeward.errors import EdgewardError

log = logging.getLogger(__name__)
torch.set_num_threads(1)

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run one training run and leave its outcome where the service looks for it."""
    try:
        config = RunConfig.from_flower(context.run_config)
    except EdgewardError as err:
        log.error("bad run config: %s", err)
        raise
    outcome: RunOutcome = TrainingRun(
        FastPollingGrid(grid), config, run_id=context.run_id
    ).execute()
    log.info("run %s %s: %s", context.run_id, outcome.status, outcome.detail)
    if config.state is not None:
        write_outcome(config.state, outcome)
