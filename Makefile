# Omni — the two commands of the quick start, and the integration suites.
#   make demo            create .venv, install, migrate, load the pilot city, run the demo, serve
#   make demo SERVE=0    the same without serving (CI, scripts)
#   make test            lint, format check, types and every test that needs no server
#                        (= make lint + make test-unit)
#   make test-integration  the suites that need PostgreSQL and Redis
# JOBS=n runs the tests in n processes (pytest-xdist; default `logical`: one per CPU the system
# shows, hyper-threads included; 0: in pytest's own process, e.g. for a debugger). Each process
# gets its own test database.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
SERVE ?= 1
PG_URL ?= postgres://postgres@127.0.0.1:5432/omni
REDIS ?= redis://127.0.0.1:6379/15
JOBS ?= logical
INTEGRATION_JOBS ?= 0

.PHONY: demo test test-unit test-integration lint install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(MANAGE) migrate --noinput
	$(MANAGE) demo
ifeq ($(SERVE),1)
	@echo "Serving on http://127.0.0.1:8000/ (Ctrl-C stops)"
	$(MANAGE) runserver 127.0.0.1:8000 --insecure --noreload
endif

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

test: lint test-unit

# A test file runs whole in one process (--dist loadfile): its module fixtures are built once;
# the longest files start first (conftest.py, LONGEST_FIRST).
test-unit: install-dev
	$(BIN)/pytest -q -m "not integration" -n $(JOBS) --dist loadfile --no-loadscope-reorder

# INTEGRATION_JOBS=n: n processes, each with its own database (test_<db>_gw0…) and its own Celery
# queue on the one Redis db. One by default, for a machine shared with other work: several tests
# wait on wall-clock deadlines (a forecast run, a browser's focus). CI runs two.
test-integration: install-dev
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/pytest -q -m integration \
	  -n $(INTEGRATION_JOBS) --dist loadfile --no-loadscope-reorder

bench: install-dev
	DATABASE_URL=$(PG_URL) $(BIN)/python bench/reserve.py
	$(BIN)/python bench/orders.py
	$(BIN)/python bench/forecast.py
	$(BIN)/python bench/allocation.py

clean:
	rm -rf $(VENV) var build *.egg-info
