# superstore-assets: `make run` materializes what is stale or missing, `make test` runs the checks and tests.
# Both create .venv and install, from uv.lock, the dependencies they need first.

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
	@echo "make lock    re-resolve uv.lock from pyproject.toml"
	@echo "make bench   time the pipeline against the notebook (BENCH_RUNS=5): bench/results.md"
	@echo "make bench-scale  cold runs on 10x, 100x (1000x) generated data: bench/scale_results.md"

# The environment comes from uv.lock through uv, which the Makefile installs into .tools/ with the
# Python that is here: a fresh machine needs only Python 3.11 and make. Each command installs the
# part of the lock it needs: the run's dependencies, the test tools (`make test`), and the team
# profile's adapters (SUPERSTORE_PROFILE=team, or PROFILE=team). --inexact: a smaller set never
# removes what a larger one installed.
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
SUPERSTORE_PROFILE ?= $(PROFILE)
ifneq ($(SUPERSTORE_PROFILE),)
export SUPERSTORE_PROFILE
endif
SYNC = UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never \
	$(UV) sync --locked --inexact --quiet --python $(PYTHON)
# Some machines export PYTHONDONTWRITEBYTECODE=1 (this one does). Python then keeps no bytecode,
# and every command compiles each module it imports again: 1.7 s of a 2.7 s `superstore status`
# here. So the run's set-up writes, once, the bytecode of what the commands import (4 s, 35 MB;
# compiling the whole environment would take 200 MB), `make run` and `make ui` write the
# bytecode of what a run imports (scikit-learn, SciPy and plotly's figures, about 1,500
# modules: without it, every later cold run compiled them again, 4 to 5 s of a 15 to 17 s run),
# and the test set-up compiles the whole environment, since the tests start hundreds of processes.
WARM_UP = env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -c 'import superstore_assets.cli.materialize, \
	superstore_assets.cli.status, superstore_assets.cli.history, superstore_assets.cli.diff, \
	superstore_assets.cli.prune, superstore_assets.assets.definitions'
# A command's own output is printed only if it fails.
QUIET = sh -c 'out=$$("$$@" 2>&1) || { printf "%s\n" "$$out" >&2; exit 1; }' quiet
TEAM_INSTALLED := $(if $(filter team,$(SUPERSTORE_PROFILE)),$(BIN)/.installed-team)

$(UV):
	@echo "Setting up uv $(UV_VERSION) in .tools/ (once)"
	@$(QUIET) $(PYTHON) -m pip install --disable-pip-version-check --no-input \
		--target .tools/uv "uv==$(UV_VERSION)"

$(BIN)/.installed-run: uv.lock pyproject.toml | $(UV)
	@echo "Setting up $(VENV) from uv.lock: the run's dependencies"
	@$(SYNC) --no-default-groups
	@$(QUIET) $(WARM_UP)
	@touch $@

$(BIN)/.installed-team: uv.lock pyproject.toml | $(UV)
	@echo "Setting up $(VENV) from uv.lock: the team profile's adapters"
	@$(SYNC) --no-default-groups --extra team
	@$(QUIET) $(WARM_UP)
	@touch $@

$(BIN)/.installed-test: uv.lock pyproject.toml | $(UV)
	@echo "Setting up $(VENV) from uv.lock: the run's dependencies, the test tools and the team profile's"
	@$(SYNC) --group test --extra team --compile-bytecode
	@touch $@ $(BIN)/.installed-run $(BIN)/.installed-team

# The instance settings of the profile: SQLite (local, the default) or PostgreSQL (team).
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp superstore_assets/$(if $(filter team,$(SUPERSTORE_PROFILE)),dagster_team.yaml,dagster.yaml) $@

# Dagster's own commands (`dagster asset materialize`, `dg launch`, `dg dev`) read .env in the
# folder they start in: it points them at the project's home too, unless DAGSTER_HOME is exported.
# Dagster needs an absolute path, so the file is written here and kept out of git. An existing
# .env is left alone.
.env:
	@echo 'DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home}' > $@

run: $(BIN)/.installed-run $(TEAM_INSTALLED) .env $(DAGSTER_HOME)/dagster.yaml
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/superstore materialize

# The suite starts hundreds of processes that import the package, and the set-up's
# --compile-bytecode skips the package itself (an editable install): its bytecode is written
# here, once per change (compileall skips what is current), or every process compiles it again
# where PYTHONDONTWRITEBYTECODE is exported (0.9 s of a 3.4 s import of the definitions here).
# pytest itself runs without PYTHONDONTWRITEBYTECODE too: it keeps each test module it rewrites
# for its assertions (and hypothesis' 73 modules, which it rewrites as a plugin's) in
# __pycache__, instead of rewriting them in every worker on every run (7 s of each worker's
# collection here).
test: lint .env
	@env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q superstore_assets superstore_assets_tests
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(BIN)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: $(BIN)/.installed-run $(TEAM_INSTALLED) .env $(DAGSTER_HOME)/dagster.yaml
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/dagster dev -m superstore_assets -h $(HOST) -p $(PORT)

data: $(BIN)/.installed-run
	$(BIN)/python -m superstore_assets.cli.generate

lock: | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) lock --python $(PYTHON)

# Each story BENCH_RUNS times a side after a warm-up round; `make bench BENCH_RUNS=1` for a look.
BENCH_RUNS ?= 5
bench: $(BIN)/.installed-test
	$(BIN)/python bench/run.py --runs $(BENCH_RUNS)

# Files of 10x, 100x and 1000x the bundled rows are generated into BENCH_DATA (kept; bench/data/
# is ignored by git; 10M lines are 2.2 GB); sizes above BENCH_MAX_ROWS are skipped.
BENCH_MAX_ROWS ?= 1000000
BENCH_DATA ?= bench/data
bench-scale: $(BIN)/.installed-test
	$(BIN)/python bench/scale.py --max-rows $(BENCH_MAX_ROWS) --data $(BENCH_DATA)

clean:
	rm -rf $(VENV) .tools storage .pytest_cache .ruff_cache .import_linter_cache .hypothesis *.egg-info
