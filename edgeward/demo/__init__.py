"""`edgeward demo`: the whole of Edgeward on one machine, with a story that plays out."""

from edgeward.demo.broker import EmbeddedBroker
from edgeward.demo.options import ChaosTimings, DemoOptions, StoryTimings
from edgeward.demo.runner import DemoRun

__all__ = ["ChaosTimings", "DemoOptions", "DemoRun", "EmbeddedBroker", "StoryTimings"]
