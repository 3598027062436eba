# makesense-api — every set-up step is a target; `make run` and `make test` are all a newcomer needs.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install install-browser run serve migrate seed-demo seed-large test test-postgres lint schema bench loadtest check clean

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Chromium and chromedriver from Debian for the browser tests (pytest marker `browser`);
## without them those tests are skipped. Never a browser downloaded by a test tool.
install-browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "chromium and chromedriver are installed"; \
	else \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
		$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q chromium chromium-driver; \
	fi

## Serve on http://127.0.0.1:8000 with a local SQLite file; demo data on first run.
run: $(STAMP) migrate seed-demo serve

serve: $(STAMP)
	$(BIN)/makesense-api serve

migrate: $(STAMP)
	$(BIN)/makesense-api migrate

seed-demo: $(STAMP)
	$(BIN)/makesense-api seed --demo --if-empty

seed-large: $(STAMP)
	$(BIN)/makesense-api seed --size large

## The whole suite on SQLite (no server needed).
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## The same suite on PostgreSQL (TEST_DATABASE_URL, default the local server's `test` database).
test-postgres: $(STAMP)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests migrations
	$(BIN)/mypy --strict src

## Regenerate the committed contract artifacts (schema/, openapi/).
schema: $(STAMP)
	$(BIN)/python -m makesense_api.contract

## `alembic check` against a freshly migrated database (MAKESENSE_DATABASE_URL).
check: $(STAMP)
	$(BIN)/alembic upgrade head
	$(BIN)/alembic check

bench: $(STAMP)
	$(BIN)/python -m makesense_api.bench

## Bounded mixed load (listings, event pages, registrations, check-ins, impact) against two
## API processes on PostgreSQL, loopback only; appends the figures to BENCHMARKS.md.
LOADTEST_DURATION_S ?= 60
loadtest: $(STAMP)
	$(BIN)/python -m makesense_api.loadtest --duration $(LOADTEST_DURATION_S)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache makesense.db makesense.db-*
