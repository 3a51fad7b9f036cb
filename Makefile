# The two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=


.PHONY: bench demo node-deps test system-deps lint typecheck check-agreements check-schemas setup setup-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip

# The stamp files re-run the install when pyproject.toml changes.
# -qq: `make demo` stays quiet until the hub speaks (pip's per-package index and build
# warnings filled screens); errors still show.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test node-deps

# KafkaJS and the Confluent registry client for the Node.js partner test
# (tests/sandbox/test_kafkajs.py), from the npm registry, pinned by the lock file.
node-deps: tests/node/node_modules/.installed
tests/node/node_modules/.installed: tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(VENV)/.installed $@

# Benchmarks compare against baselines in the same run and print ratios (bench/README.md).
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/processor.py $(ARGS)

demo: setup
	$(BIN)/hub demo $(ARGS)

lint: setup-test
	$(BIN)/ruff check hub connectors tests bench
	$(BIN)/ruff format --check hub connectors tests bench

typecheck: setup-test
	$(BIN)/mypy

# The partnership's agreements must lint clean: an agreement that would fail closed (or
# over-share) is caught before it reaches a processor.
check-agreements: setup
	$(BIN)/hub agreements lint --strict
	$(BIN)/hub analytics lint --strict

# Schemas must be documented, tagged and compatible with the previous commit's.
check-schemas: setup
	$(BIN)/hub schemas check --base HEAD~1

# PostgreSQL and Chromium from Debian, for the tests that run on them (scripts/system-deps.sh).
system-deps:
	scripts/system-deps.sh

test: system-deps setup-test lint typecheck check-agreements check-schemas
	$(BIN)/python -m pytest $(ARGS)

clean:
	rm -rf $(VENV) .venv-quix .hub .pytest_cache .mypy_cache .ruff_cache
