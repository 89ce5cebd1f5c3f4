# The two commands of the README: `make run` and `make test`. Both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/resourcemap
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on a moving test clock (tests/conftest.py): SQLite just after midnight JST,
# PostgreSQL late in the evening, so that day-boundary bugs show in every `make test`.
TEST_CLOCK_SQLITE ?= midnight
TEST_CLOCK_POSTGRES ?= evening
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install system-deps lint migrations-check test-sqlite test-postgres \
        test-production demo-data bench bench-postgres bench-national messages clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh

# Links and the printed admin address follow the server's own host and port (unless SITE_URL is set).
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py createcachetable
	DEBUG=1 $(PY) manage.py load_reference
	DEBUG=1 $(PY) manage.py load_demo --if-empty
	DEBUG=1 $(PY) manage.py ensure_dev_staff
	@# One worker for queued work (letters, e-mail, exports) beside the development server;
	@# it is stopped (its running task put back on the queue) when runserver stops.
	@DEBUG=1 $(PY) manage.py worker & worker=$$!; \
	  trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	  DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .

migrations-check: install
	ALLOW_DEV_SECRET=1 $(PY) manage.py makemigrations --check --dry-run

test-sqlite: install system-deps
	mkdir -p var
	TEST_CLOCK=$(TEST_CLOCK_SQLITE) DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(VENV)/bin/pytest

test-postgres: install system-deps
	@bash scripts/check-postgres.sh "$(PG_URL)" && \
	  TEST_CLOCK=$(TEST_CLOCK_POSTGRES) DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest || { rc=$$?; [ $$rc -eq 77 ] && exit 0; exit $$rc; }

# Production smoke test: the README's "Production on PostgreSQL" steps on a temporary database,
# then gunicorn with DEBUG=0 answering real requests (scripts/smoke-production.sh).
test-production: install
	@bash scripts/smoke-production.sh "$(PG_URL)"

test: install system-deps lint migrations-check test-sqlite test-postgres test-production
	@echo "All checks passed on SQLite and PostgreSQL."

demo-data: install
	$(PY) fixtures/generate_demo.py

# Benchmarks print figures; they fill scratch databases, never db.sqlite3. Production settings
# (DEBUG off) are set by the scripts themselves.
bench: install
	mkdir -p var
	rm -f var/bench.sqlite3
	PG_URL=$(PG_URL) DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 $(PY) bench/run.py

# A fresh scratch database next to PG_URL's (its name + "_bench" / "_national").
bench-postgres: install
	DATABASE_URL=$$($(PY) scripts/scratch-db.py "$(PG_URL)" bench) && \
	  DATABASE_URL=$$DATABASE_URL $(PY) bench/run.py

# NATIONAL_PROFILE=one-city: every provider in the reference municipality (the worst case).
NATIONAL_PROFILE ?= national
bench-national: install
	DATABASE_URL=$$($(PY) scripts/scratch-db.py "$(PG_URL)" \
	  $(if $(filter national,$(NATIONAL_PROFILE)),national,national_$(subst -,_,$(NATIONAL_PROFILE)))) && \
	  DATABASE_URL=$$DATABASE_URL $(PY) bench/national.py --profile $(NATIONAL_PROFILE)

messages: install
	DEBUG=1 $(PY) manage.py makemessages -l en --no-obsolete
	DEBUG=1 $(PY) manage.py compilemessages

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache
