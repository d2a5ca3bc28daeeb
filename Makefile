# Two commands on a fresh machine:  make run   |   make test
VENV ?= .venv
PYTHON ?= python3
PORT ?= 5000
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint bench install chromium

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Serve with embedded defaults: SQLite in instance/, tasks in-process, the shipped course maps loaded,
# and the development platform at /dev/platform to try launches without an LMS.
run: install
	$(BIN)/lti-tool db upgrade
	$(BIN)/lti-tool course-maps load
	DEVELOPMENT=$${DEVELOPMENT:-1} DEV_PLATFORM=$${DEV_PLATFORM:-1} $(BIN)/lti-tool serve --port $(PORT)

# Headless Chromium for the browser tests comes from Debian (Playwright cannot download browsers here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite: lint, types, unit, integration (SQLite, and PostgreSQL/Redis when configured), browser.
test: install chromium lint
	$(BIN)/pytest -n 2 --dist loadfile -q

bench: install
	$(BIN)/python bench/completion_queries.py
	$(BIN)/python bench/launch_throughput.py
	$(BIN)/python bench/office_push.py
	$(BIN)/python bench/records_export.py
	$(BIN)/python bench/dashboard_scale.py
