# Two commands on a fresh machine: `make demo` (set up + serve the dashboard) and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8866
# `make demo MODEL=path-or-hub-name` serves another model (default: the bundled one)
MODEL ?=

.PHONY: setup chromium redis js lint test test-py demo bench train-tiny clean

$(STAMP): pyproject.toml js/package.json js/package-lock.json
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch from the machine's local wheel; never a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	cd js && npm ci --no-audit --no-fund
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Debian's Chromium for the browser tests, with fonts for CJK and emoji tokens in screenshots.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei fonts-noto-color-emoji
chromium:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(BROWSER_PACKAGES); }

# Debian's redis-server: the tests start their own (tests/redis_server.py), never the system service.
REDIS_PACKAGES := redis-server
redis:
	@dpkg -s $(REDIS_PACKAGES) >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(REDIS_PACKAGES); }

setup: $(STAMP) chromium redis

js: $(STAMP)
	cd js && npm run build

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	cd js && npx tsc --noEmit && npx eslint src tests

test: setup js lint
	cd js && npx vitest run
	$(BIN)/pytest

demo: setup js
	$(BIN)/deepseek-viz app $(if $(MODEL),"$(MODEL)") --host $(HOST) --port $(PORT)

bench: setup js
	$(PY) -m pip install -q -e ".[dev,bench]"
	$(PY) -m benchmarks $(ARGS)

train-tiny: $(STAMP)
	@command -v fortune >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q fortunes fortunes-zh; }
	$(PY) scripts/train_tiny.py

clean:
	rm -rf $(VENV) js/node_modules src/deepseek_viz/static
