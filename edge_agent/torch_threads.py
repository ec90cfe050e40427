"""How many threads torch may use in an agent process, in one place.

Agents share two cores with the broker, the SuperNode and the risk model. Torch's default of
one thread per core makes every small call (a smoke test, a live-quality pass) wake a thread
pool that then competes with everything else: measured on this machine, activating a 1 MB
model took 23 ms of CPU with the default and 7 ms with one thread.
"""

from __future__ import annotations

import torch

AGENT_TORCH_THREADS = 1


def limit_torch_threads() -> None:
    """Make this process's torch use `AGENT_TORCH_THREADS` threads."""
    torch.set_num_threads(AGENT_TORCH_THREADS)
