"""The `edgeward` command line."""
