# Everything a fresh machine needs is installed by these targets (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ASSETS := web/static/vendor/.stamp

# The browser modeller (bpmn-js + properties panel + this system's spiffworkflow properties), bundled once.
MODELLER_BUNDLE = mkdir -p web/static/vendor/modeller && \
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css web/static/vendor/modeller/ && \
	node_modules/.bin/esbuild web/static/modeller/modeller.js --bundle --minify --format=iife --target=es2019 \
		--log-level=warning --outfile=web/static/vendor/modeller/modeller.js

.PHONY: run test test-fast bench lint install assets chromium imap-server clean

# `make run PORT=5001` serves on another port (the customer links follow it unless PUBLIC_BASE_URL is set).
PORT ?= 5000
run: $(STAMP) $(ASSETS)
	$(BIN)/complaints init --demo
	PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/complaints serve --port $(PORT)

# Tests run in parallel (pytest-xdist): one worker process per core, each with its own template database
# (tests/conftest.py). WORKERS=0 runs them in this one process, one after another.
WORKERS ?= auto
PARALLEL = $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist worksteal)
# The tests write compiled modules even where the environment says not to (PYTHONDONTWRITEBYTECODE, as on this
# machine): else every test process compiled the project's modules, and pytest rewrote every test module, again
# and again, and so did every command the tests start (the workers' collecting, from a run's second on: 7.9 ->
# 3.7 s of CPU).
test test-fast: export PYTHONDONTWRITEBYTECODE :=

# The faults tests (killing servers and workers) are dealt into a lane per worker, which each worker runs first,
# beside the other workers' tests (tests/conftest.py): alone, one after another, they took 9½ minutes (README: Tests).
test: $(STAMP) $(ASSETS) chromium imap-server
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/complaints validate workflows
	$(BIN)/complaints test-models workflows
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

# The SQLite variants without subprocesses, workers, faults or a browser (README: Tests).
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow and not browser and not postgres and not faults" -x $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

assets: $(ASSETS)

# bpmn-js and friends come from npm (no CDN); only their dist files are served.
$(ASSETS): $(STAMP) package.json package-lock.json $(wildcard web/translations/*/LC_MESSAGES/messages.po) \
		$(wildcard web/static/modeller/*.js web/static/modeller/*.json)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p web/static/vendor
	rm -rf web/static/vendor/bpmn-js web/static/vendor/dmn-js web/static/vendor/modeller
	cp -r node_modules/bpmn-js/dist web/static/vendor/bpmn-js
	cp -r node_modules/dmn-js/dist web/static/vendor/dmn-js
	$(MODELLER_BUNDLE)
	$(BIN)/pybabel compile -d web/translations
	touch $@

# Browser tests drive Debian's Chromium (a test tool's own browser download does not work here).
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-wqy-zenhei >/dev/null 2>&1; then \
		echo "installing Debian's chromium (and a Chinese font) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi

# The e-mail intake tests read a real mailbox: Debian's Dovecot, started by the tests on a port of their own
# (the package's own service is not used).
imap-server:
	@if [ ! -x /usr/sbin/dovecot ]; then \
		echo "installing Debian's dovecot-imapd for the e-mail intake tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi

clean:
	rm -rf $(VENV) node_modules web/static/vendor instance .pytest_cache
