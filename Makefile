# Two commands do everything on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo demo-check test lint format bench quality install install-dev clean worker beat audit

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

## demo: set up the embedded default, two workspaces with their sample data (Online Retail,
## CDNOW) and demo logins, serve on 127.0.0.1:8000
demo: $(RUNTIME_STAMP)
	$(BIN)/python scripts/demo.py

## demo-check: everything `make demo` does, on a fresh state folder; checks both workspaces
## (customer counts, each login's role in each), then exits
demo-check: $(RUNTIME_STAMP)
	$(BIN)/python scripts/demo.py --check

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## test: lint, then the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set),
## a process per core (at most TEST_PROCESSES), each test file kept in one process so that
## its module-scoped data is built once; TEST_PROCESSES=0 runs it all in one process.
## SERIAL_TESTS run afterwards in one process: schemathesis gives all of an API's operations
## one node id, and pytest-xdist would run only the first (tests/conftest.py refuses that);
## the fan-out's real workers beat a heartbeat with a 4-second stale limit, which other test
## processes competing for the cores made miss (a worker killed mid-part, twice in CI-like runs).
TEST_PROCESSES ?= 4
SERIAL_TESTS := tests/api/test_schema.py tests/clustering/test_fanout.py
test: lint
ifeq ($(TEST_PROCESSES),0)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
else
	$(BIN)/python -m pytest -n auto --maxprocesses $(TEST_PROCESSES) --dist loadfile \
		$(addprefix --ignore=,$(SERIAL_TESTS)) $(PYTEST_ARGS)
	$(BIN)/python -m pytest $(SERIAL_TESTS) $(PYTEST_ARGS)
endif

## audit: the pinned requirements (runtime and dev, with what they pull in) against PyPI's
## vulnerability data; needs the network, so `make test` never runs it (.ci/run does where
## PyPI answers). --strict: a package that could not be checked fails, never passes unseen.
## Ignores, each with its reason: docs/decisions/dependency-audit.md (AUDIT_IGNORES).
AUDIT_IGNORES ?=
audit: $(DEV_STAMP)
	$(BIN)/pip-audit --strict --progress-spinner off --vulnerability-service pypi \
		-r requirements.txt -r requirements-dev.txt $(AUDIT_IGNORES)

## quality: segment quality on Online Retail, CDNOW and synthetic shops (planted, weekly, 400k), seeds 1..5
quality: $(DEV_STAMP)
	$(BIN)/python scripts/quality.py

bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

worker: $(RUNTIME_STAMP)
	$(BIN)/celery -A segmentation_site worker --loglevel=INFO --concurrency=2

## beat: the one scheduler process that fires the workspaces' scheduled refreshes (run
## exactly one per site, beside the workers)
beat: $(RUNTIME_STAMP)
	$(BIN)/celery -A segmentation_site beat --loglevel=INFO \
		-S django_celery_beat.schedulers:DatabaseScheduler --pidfile=

clean:
	rm -rf var/test-* test-output staticfiles .pytest_cache
