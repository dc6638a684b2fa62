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

.PHONY: help setup demo test typecheck lint test-ts test-py bench format clean

help:
	@echo "make demo    set up, then run a short demo (examples/demo.ts)"
	@echo "make test    set up, then run every check: typecheck, lint, Vitest, pytest"
	@echo "make bench   run the benchmarks (bench/), about 10 minutes"
	@echo "make format  format TypeScript and Python"

setup: node_modules/.installed $(VENV)/.installed

node_modules/.installed: package.json pnpm-lock.yaml $(wildcard packages/*/package.json)
	$(PNPM) install --frozen-lockfile
	@touch $@

$(VENV)/.installed: python/pyproject.toml python/constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version)'
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -c python/constraints.txt --config-settings editable_mode=compat -e 'python[all,dev]'
	@touch $@

demo: setup
	$(PNPM) run demo

test: setup typecheck lint test-ts test-py

typecheck: setup
	$(PNPM) run typecheck

lint: setup
	$(PNPM) run lint
	$(VENV)/bin/ruff check python
	$(VENV)/bin/ruff format --check python

test-ts: setup
	$(PNPM) run test

test-py: setup
	$(VENV_PYTHON) -m pytest python/tests

bench: setup
	$(PNPM) run bench

format: setup
	$(PNPM) run format
	$(VENV)/bin/ruff format python
	$(VENV)/bin/ruff check --fix python

clean:
	rm -rf node_modules packages/*/node_modules packages/*/dist $(VENV)
