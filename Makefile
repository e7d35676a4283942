# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS ?=
DATA_DIR ?= .flowruns
# make serve's own data directory holds the demo: its flows start and finish runs while it serves.
DEMO_ACTIVITY ?= $(if $(filter .flowruns,$(DATA_DIR)),--demo-activity)
# `make serve PORT=8001` listens there; only a PORT given to make counts (a shell's own $PORT,
# as some platforms set, does not): without it, serve takes FLOWRUNS_PORT, else 8000.
SERVE_PORT = $(if $(filter command line,$(origin PORT)),--port "$(PORT)")
# Debian's chromium binary (the chromium command is a wrapper around it).
CHROMIUM_BINARY ?= /usr/lib/chromium/chromium

.PHONY: serve test lint chromium fuzz bench clean

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
	$(BIN)/flowruns serve --data-dir "$(DATA_DIR)" --print-token $(SERVE_PORT) $(DEMO_ACTIVITY)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

test: lint chromium
	$(BIN)/pytest -n 2

# The dashboard's browser tests drive Debian's chromium (never a browser download of Playwright's
# own). Installed here when missing and we may, without the packages Debian recommends with it
# (a desktop's worth: avahi, printer tools); without it those tests skip, and fail under CI.
chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -x "$(CHROMIUM_BINARY)" ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "The dashboard's browser tests need a browser: installing Debian's chromium and the"; \
		echo "libraries it depends on, without recommended packages:"; \
		echo "  apt-get install --no-install-recommends chromium"; \
		apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "chromium is missing and this is not root: the browser tests will be skipped."; \
		echo "Install it with: sudo apt-get install --no-install-recommends chromium"; \
	fi

# The long fuzzing runs, thousands of examples each (minutes, not seconds): the query engine,
# hostile query text, schemathesis against /openapi.json, and the permission every spelling of a
# navigation needs.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -n 2 tests/query
	HYPOTHESIS_PROFILE=fuzz FLOWRUNS_FUZZ_EXAMPLES=500 FLOWRUNS_TEST_ENGINES=sqlite \
		$(BIN)/pytest -n 2 tests/api/test_openapi_fuzz.py tests/api/test_hostile_input.py
	HYPOTHESIS_PROFILE=fuzz FLOWRUNS_TEST_ENGINES=sqlite $(BIN)/pytest -n 2 tests/api/test_query_permissions.py

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Needs wrk (Debian/Ubuntu: apt-get install wrk); installs Prefect into bench/.venv-prefect.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
