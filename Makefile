# `make run` and `make test` set everything up themselves; both are quick once set up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

config.toml: | $(STAMP)
	$(BIN)/limelight init

run: $(STAMP) config.toml
	$(BIN)/limelight run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The `bench` extra holds the peers the benchmarks measure beside us (sopel 8); only here.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

# Figures are printed and also written to bench-results.json (one run's figures).
bench: $(VENV)/.bench-installed
	rm -f bench-results.json
	$(BIN)/python -m pytest tests/benchmarks -s -q -o 'python_files=bench_*.py' -o 'python_functions=bench_*' $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check core plugins tests
	$(BIN)/ruff format --check core plugins tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist test-output
