# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS ?=
DATA_DIR ?= .flowruns

.PHONY: serve test lint fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	@if [ ! -f "$(DATA_DIR)/flowruns.db" ]; then \
		echo "New data directory $(DATA_DIR): loading a small demo history"; \
		$(BIN)/flowruns demo seed --data-dir "$(DATA_DIR)" --runs 2000; \
	fi
	$(BIN)/flowruns serve --data-dir "$(DATA_DIR)"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2

# The long fuzzing runs, thousands of examples each (minutes, not seconds): the query engine,
# hostile query text, and schemathesis against /openapi.json.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -n 2 tests/query
	HYPOTHESIS_PROFILE=fuzz FLOWRUNS_FUZZ_EXAMPLES=500 FLOWRUNS_TEST_ENGINES=sqlite \
		$(BIN)/pytest -n 2 tests/api/test_openapi_fuzz.py tests/api/test_hostile_input.py

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Needs wrk (Debian/Ubuntu: apt-get install wrk); installs Prefect into bench/.venv-prefect.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
