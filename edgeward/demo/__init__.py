"""`edgeward demo`: Edgeward on one machine, with an embedded broker and simulated sites."""

from edgeward.demo.broker import EmbeddedBroker
from edgeward.demo.runner import DemoOptions, DemoRun

__all__ = ["DemoOptions", "DemoRun", "EmbeddedBroker"]
