"""Allow `python -m edgeward ...`."""

from edgeward.cli.main import run

run()
