# SnakeBridge: `make demo` and `make test` set everything up themselves
# (pnpm, node_modules, a Python virtual environment) on a machine with
# Node.js 20+ and Python 3.10+.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PNPM_VERSION := 10.34.9
# Use an installed pnpm if there is one; otherwise fetch the pinned version with npx.
PNPM := $(shell command -v pnpm >/dev/null 2>&1 && echo pnpm || echo "npx --yes pnpm@$(PNPM_VERSION)")
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python

.PHONY: help setup demo test typecheck lint test-ts test-py test-release bench bench-record format clean python-matches-venv

help:
	@echo "make demo    set up, then run a short demo (examples/demo.ts)"
	@echo "make test    set up, then run every check: typecheck, lint, Vitest, pytest"
	@echo "make bench   run the benchmarks (bench/), about 4.5 minutes; results in bench/results/local/"
	@echo "make bench-record  the same, and update the recorded figures (bench/results/latest.*)"
	@echo "make format  format TypeScript and Python"

setup: python-matches-venv node_modules/.installed $(VENV)/.installed

# PYTHON=… is honoured or refused, never ignored: a .venv made from another interpreter is not silently reused.
python-matches-venv:
ifneq ($(filter command line environment,$(origin PYTHON)),)
	@if [ -x $(VENV_PYTHON) ]; then \
	  wanted=$$($(PYTHON) -c 'import sys; print(sys.base_prefix, sys.version.split()[0])') || exit 1; \
	  found=$$($(VENV_PYTHON) -c 'import sys; print(sys.base_prefix, sys.version.split()[0])'); \
	  if [ "$$wanted" != "$$found" ]; then \
	    echo "PYTHON=$(PYTHON) is $$wanted, but $(VENV) was made with $$found."; \
	    echo "Run 'make clean' to rebuild $(VENV) with PYTHON=$(PYTHON), or leave PYTHON out to keep it."; \
	    exit 1; \
	  fi; \
	fi
else
	@true
endif

node_modules/.installed: package.json pnpm-lock.yaml $(wildcard packages/*/package.json)
	$(PNPM) install --frozen-lockfile
	@touch $@

$(VENV)/.installed: python/pyproject.toml python/constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version)'
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	@# setuptools prints an advisory box on every editable install ("be careful with folders named like the package"); nothing here to act on.
	PYTHONWARNINGS=ignore $(VENV_PYTHON) -m pip install --quiet -c python/constraints.txt -e 'python[all,dev,examples]'
	@touch $@

demo: setup
	$(PNPM) run demo

test: setup typecheck lint test-ts test-py test-release

typecheck: setup
	$(PNPM) run typecheck

lint: setup
	$(PNPM) run lint
	$(VENV)/bin/ruff check python
	$(VENV)/bin/ruff format --check python
	$(VENV)/bin/ruff check --config python/pyproject.toml examples
	$(VENV)/bin/ruff format --check --config python/pyproject.toml examples

test-ts: setup
	$(PNPM) run test

test-py: setup
	$(VENV_PYTHON) -m pytest python/tests

# Packs, installs and runs SnakeBridge as a user would, outside the workspace (scripts/release-check.mjs).
test-release: setup
	$(PNPM) run release-check

bench: setup
	$(PNPM) run bench

bench-record: setup
	BENCH_RECORD=1 $(PNPM) run bench

format: setup
	$(PNPM) run format
	$(VENV)/bin/ruff format python
	$(VENV)/bin/ruff check --fix python
	$(VENV)/bin/ruff format --config python/pyproject.toml examples

clean:
	rm -rf node_modules packages/*/node_modules packages/*/dist $(VENV)
