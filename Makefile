# Boxoffice — every entry point a developer or CI needs. Only python3 (3.11+) and make are assumed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
# A pinned uv in .tools/, so every machine resolves the lock file the same way.
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
# With DATABASE_URL unset, commands run against the embedded PostgreSQL under .data/ (started on demand).
WITH_DB := $(PY) -m devtools.embedded_pg exec --
# Static analysis imports settings; give it harmless values so it never needs a database.
LINT_ENV := DJANGO_SECRET_KEY=lint-only DATABASE_URL=postgres://lint@localhost/lint

.PHONY: help install run dev demo test lint format check migrate makemigrations shell superuser worker bench bench-ab bench-smoke profile fuzz faults schema clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen --quiet --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced ## create .venv from pyproject.toml + uv.lock

run: install ## start the API (granian) on PORT (default 8000); Ctrl-C stops everything it started
	@$(PY) -m devtools.run

dev: install ## Django's auto-reloading server on PORT (default 8000), DEBUG on, same database
	$(WITH_DB) $(PY) manage.py migrate --noinput -v 0
	DJANGO_DEBUG=true OUTBOX_DISPATCH=celery PAYMENTS_FAKE=$${PAYMENTS_FAKE:-true} $(WITH_DB) $(PY) manage.py runserver $${PORT:-8000}

demo: install ## load demo events and accounts (works while `make run` is running); prints the logins
	@$(WITH_DB) $(PY) manage.py migrate --noinput -v 0
	@$(WITH_DB) $(PY) manage.py seed_demo $(DEMO_ARGS)

test: install ## run the whole test suite on PostgreSQL (DATABASE_URL, else embedded), with coverage
	$(WITH_DB) $(PY) -m pytest --cov=boxoffice --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install ## ruff check + ruff format --check + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy .

format: install ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: install ## migrations drift, OpenAPI schema warnings, deploy checks
	$(WITH_DB) $(PY) -m devtools.checks

migrate: install ## apply migrations
	$(WITH_DB) $(PY) manage.py migrate --noinput

makemigrations: install ## create migrations for model changes
	$(WITH_DB) $(PY) manage.py makemigrations

shell: install ## Django shell on the configured database
	$(WITH_DB) $(PY) manage.py shell

superuser: install ## create a superuser (non-interactive with DJANGO_SUPERUSER_EMAIL/PASSWORD)
	$(WITH_DB) $(PY) manage.py createsuperuser $(if $(DJANGO_SUPERUSER_EMAIL),--noinput,)

worker: install ## Celery worker + beat (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "make worker needs REDIS_URL (without it tasks run in-process)"; exit 2; }
	$(WITH_DB) $(VENV)/bin/celery -A config worker --beat --loglevel=INFO

fuzz: install ## schemathesis against the running server's OpenAPI schema (FUZZ_ARGS=...)
	$(WITH_DB) $(PY) -m devtools.fuzz $(FUZZ_ARGS)

faults: install ## fault injection under booking load: 0 lost, 0 duplicated (see docs/reliability.md)
	$(WITH_DB) $(PY) -m devtools.faults $(FAULTS_ARGS)

schema: install ## write the OpenAPI document to schema.yaml
	$(WITH_DB) $(PY) manage.py spectacular --validate --fail-on-warn --file schema.yaml

bench: install ## flash-sale load benchmark (see bench/README.md)
	$(WITH_DB) $(PY) -m bench.run $(BENCH_ARGS)

profile: install ## a server worker's CPU per request by part, under load (py-spy; PROFILE_ARGS=...)
	$(WITH_DB) $(PY) -m bench.profile $(PROFILE_ARGS)

bench-ab: install ## this checkout's server against AB_REV's, interleaved (AB_ARGS=...)
	$(WITH_DB) $(PY) -m bench.ab --rev $(AB_REV) $(AB_ARGS)

bench-smoke: install ## a seconds-long version of the benchmark, for CI
	$(WITH_DB) $(PY) -m bench.run --smoke $(BENCH_ARGS)

clean: ## remove the virtualenv and local data (asks nothing: .data holds the embedded database)
	rm -rf $(VENV) .tools .data .pytest_cache .mypy_cache .ruff_cache
