"""The active model at work on the device: forecasts as data arrives, and its live quality."""

from edge_agent.inference.live_quality import LiveQuality

__all__ = ["LiveQuality"]
