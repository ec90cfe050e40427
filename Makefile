# The only commands a person needs. Each sets up first (idempotent, quick when nothing changed).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp

.PHONY: setup test test-unit lint bench demo lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

## Run the whole suite: unit tests and integration tests with real components.
test: setup
	$(PY) -m pytest

## The fast inner loop: unit tests only.
test-unit: setup
	$(PY) -m pytest -m "not integration"

## ruff (lint and format check) and mypy --strict on the packages.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## Run every benchmark and write benchmarks/RESULTS.md.
bench: setup
	$(PY) benchmarks/run_all.py

## Run Edgeward on this machine with simulated sites (Ctrl-C stops it).
demo: setup
	$(VENV)/bin/edgeward demo

## Re-pin constraints.txt from the current environment (after a deliberate upgrade).
lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v '^edgeward' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis artifacts
