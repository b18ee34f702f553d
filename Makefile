# Two commands: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install vendor chromium demo test lint typecheck unit integration connectors acceptance
.PHONY: browser clean docs

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Front-end packages pinned in package.json / package-lock.json. htmx and Pico are vendored into
# the Python package (`make vendor` after an upgrade); the browser tests load axe-core from here.
NPM_STAMP := node_modules/.installed
VENDOR := src/passeur/web/static/vendor

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

vendor: $(NPM_STAMP)
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/htmx.org/LICENSE $(VENDOR)/htmx.LICENSE
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico.min.css
	cp node_modules/@picocss/pico/LICENSE.md $(VENDOR)/pico.LICENSE.md

# The browser tests drive Debian's Chromium; Playwright never downloads a browser.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

demo: install
	$(BIN)/passeur demo

# The extensions' reference pages (docs/extensions/), rendered from their declarations.
docs: install
	$(BIN)/python -m passeur.docs

lint: install
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: install
	$(BIN)/mypy

# Two processes: most tests wait on subprocesses, servers and the databases (2 cores here).
test: install chromium $(NPM_STAMP) lint typecheck
	$(BIN)/pytest -q -n 2

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

connectors: install
	$(BIN)/pytest -q tests/connectors

acceptance: install
	$(BIN)/pytest -q tests/acceptance

browser: install chromium $(NPM_STAMP)
	$(BIN)/pytest -q tests/browser

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache

.PHONY: chaos bench rclone sshd
# Fault harness: 5,000 exports under worker kills, receiver faults and a database cut.
chaos: install
	$(BIN)/python -m bench.chaos

# Benchmarks: each prints its figure against a baseline measured in the same run. The
# `bench` extra holds the job queues passeur is measured against (never a runtime
# dependency); rclone (Debian's) is the SFTP peer, measured against the sandbox server and
# OpenSSH's sshd (Debian's openssh-server; bench/servers.py runs it on a loopback port with
# its own throwaway keys and configuration, never as a system service).
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

rclone:
	@if ! command -v rclone >/dev/null; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rclone; \
	fi

sshd:
	@if ! test -x /usr/sbin/sshd; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server; \
	fi

bench: $(BENCH_STAMP) rclone sshd
	$(BIN)/python -m bench.run
