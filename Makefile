# `make run` and `make test` set everything up themselves; both are quick once set up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What running needs (`make run`), and on top of it what the tests need (`make test`,
# `make lint`: pytest, Playwright, ruff, mypy; about half the download), each installed
# once and again only when pyproject.toml changes.
STAMP      := $(VENV)/.installed
TEST_STAMP := $(VENV)/.test-installed
# pip shows what it downloads and installs (the first install takes a minute or two).
PIP := $(BIN)/python -m pip install --progress-bar on --disable-pip-version-check

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing Limelight and what it needs to run (first time: a minute or two)"
	$(PIP) --upgrade pip
	$(PIP) -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	@echo "==> installing the test tools (pytest, Playwright, ruff, mypy)"
	$(PIP) -e '.[test]'
	@touch $(TEST_STAMP)

config.toml: | $(STAMP)
	$(BIN)/limelight init

# `limelight run` prints the dashboard's and each overlay's URL once it listens.
run: $(STAMP) config.toml
	@echo "==> starting Limelight (Ctrl+C stops it)"
	$(BIN)/limelight run

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The `bench` extra holds the peers the benchmarks measure beside us (sopel 8); only here.
$(VENV)/.bench-installed: $(TEST_STAMP)
	$(PIP) -e '.[test,bench]'
	@touch $@

# Figures are printed and also written to bench-results.json (one run's figures).
bench: $(VENV)/.bench-installed
	rm -f bench-results.json
	$(BIN)/python -m pytest tests/benchmarks -s -q -o 'python_files=bench_*.py' -o 'python_functions=bench_*' $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check core plugins tests
	$(BIN)/ruff format --check core plugins tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist test-output
