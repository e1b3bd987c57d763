# superstore-assets: `make run` materializes what is stale or missing, `make test` runs the checks and tests.
# Both create .venv and install the locked dependencies first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 3000
# The UI listens on loopback only; `make ui HOST=0.0.0.0` exposes it to the network, deliberately.
HOST ?= 127.0.0.1
# The project's own Dagster instance, so that run history survives restarts; an exported
# DAGSTER_HOME wins.
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DAGSTER_HOME

.PHONY: run test lint format ui data lock bench bench-scale clean help

help:
	@echo "make run     materialize what is stale or missing on the bundled dataset"
	@echo "make test    lint, format check, import contracts and the whole test suite"
	@echo "make ui      the Dagster UI on http://$(HOST):$(PORT)"
	@echo "make data    regenerate data/superstore.csv and data/superstore_modified.csv"
	@echo "make lock    re-resolve requirements.lock from pyproject.toml"
	@echo "make bench   time the pipeline against the notebook (BENCH_RUNS=5): bench/results.md"
	@echo "make bench-scale  cold runs on 10x, 100x (1000x) generated data: bench/scale_results.md"

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The instance settings of the profile: SQLite (local, the default) or PostgreSQL (team).
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp superstore_assets/$(if $(filter team,$(SUPERSTORE_PROFILE)),dagster_team.yaml,dagster.yaml) $@

run: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/superstore materialize

test: lint
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -m superstore_assets -h $(HOST) -p $(PORT)

data: $(BIN)/.installed
	$(BIN)/python -m superstore_assets.cli.generate

lock: $(BIN)/.installed
	$(BIN)/pip-compile --quiet --extra dev --extra team --generate-hashes --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# Each story BENCH_RUNS times a side after a warm-up round; `make bench BENCH_RUNS=1` for a look.
BENCH_RUNS ?= 5
bench: $(BIN)/.installed
	$(BIN)/python bench/run.py --runs $(BENCH_RUNS)

# Files of 10x, 100x and 1000x the bundled rows are generated into BENCH_DATA (kept; bench/data/
# is ignored by git; 10M lines are 2.2 GB); sizes above BENCH_MAX_ROWS are skipped.
BENCH_MAX_ROWS ?= 1000000
BENCH_DATA ?= bench/data
bench-scale: $(BIN)/.installed
	$(BIN)/python bench/scale.py --max-rows $(BENCH_MAX_ROWS) --data $(BENCH_DATA)

clean:
	rm -rf $(VENV) storage .pytest_cache .ruff_cache .import_linter_cache .hypothesis *.egg-info
