# VectorCraft: the front door. `make run` to start everything, `make test` to check everything.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate superuser worker web bench loadtest deploy-check system-deps browser-deps deploy-deps clean-venv help lock upgrade

help:
	@echo "make run        install, migrate and start the web server and a Q cluster"
	@echo "make test       install the dev tools, then run ruff and the test suite"
	@echo "make lint       ruff check + format check only"
	@echo "make format     apply ruff's fixes and formatting"
	@echo "make superuser  create a staff account (Django's createsuperuser)"
	@echo "make bench      engine benchmark on ../shared/bench; writes docs/BENCHMARKS.md"
	@echo "make loadtest   locust, 100 users for 60 s against gunicorn on PostgreSQL + Redis; writes docs/BENCHMARKS.md"
	@echo "make deploy-check  Django's deployment checks with the production variables you set"
	@echo "make lock       re-lock uv.lock after changing pyproject.toml's dependencies"
	@echo "make upgrade    move every locked package to its newest allowed version"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# CairoSVG (PDF and EPS exports) needs the cairo library from the system.
system-deps:
	@ldconfig -p | grep -q 'libcairo.so.2' || { \
	  echo "Installing libcairo2 (needed for PDF/EPS exports)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libcairo2; }

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
browser-deps:
	@[ -x /usr/bin/chromium ] || { \
	  echo "Installing chromium (needed by the browser tests)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# The tests of docs/DEPLOY.md run Debian's nginx on ports of their own (the package's service is
# not used) and check the systemd units with systemd-analyze.
deploy-deps:
	@{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } && command -v systemd-analyze >/dev/null || { \
	  echo "Installing nginx and systemd (needed by the tests of docs/DEPLOY.md)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx systemd; }

# Dependencies: declared once in pyproject.toml, every version pinned with hashes in uv.lock.
# uv (itself pinned) installs exactly the lock into .venv; --inexact leaves uv in place.
UV_VERSION := 0.13.10
UV := $(BIN)/uv
UV_SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --inexact --python $(BIN)/python

$(UV): | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Stamp files: reinstall only when the lock changes.
$(VENV)/.runtime-installed: uv.lock pyproject.toml | $(UV) system-deps
	$(UV_SYNC) --no-dev --quiet
	@touch $@

$(VENV)/.dev-installed: uv.lock pyproject.toml | $(UV) system-deps browser-deps
	$(UV_SYNC) --quiet
	@touch $@ $(VENV)/.runtime-installed

# After changing pyproject.toml's dependencies: `make lock` re-resolves what changed, keeping
# every other pin; `make upgrade` moves every package to its newest allowed version.
lock: $(UV)
	$(UV) lock --python $(BIN)/python

upgrade: $(UV)
	$(UV) lock --upgrade --python $(BIN)/python

migrate: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput

# Development plays PayPal locally unless told otherwise (settings refuse it in production).
PAYPAL_SIMULATOR ?= 1

run: migrate
	@echo
	@echo "  VectorCraft is starting at http://$(HOST):$(PORT)/  (web + Q clusters; Ctrl-C stops all)"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) PAYPAL_SIMULATOR=$(PAYPAL_SIMULATOR) \
	  $(BIN)/honcho start --port $(PORT) --procfile Procfile

web: migrate
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: migrate
	$(BIN)/python manage.py qcluster

superuser: migrate
	$(BIN)/python manage.py createsuperuser

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint browser-deps deploy-deps
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.runtime-installed
	$(BIN)/python manage.py bench_engine
	$(call stack_database,vectorcraft_bench,3)
	$(call stack_env,vectorcraft_bench,3) $(BIN)/python manage.py bench_pipeline $(BENCH_ARGS)

# The load test and the pipeline benchmark start production-mode nodes on PostgreSQL and Redis,
# each on a database of its own (created if missing).
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_REDIS ?= redis://127.0.0.1:6379
stack_env = DATABASE_URL=$(BENCH_PG)/$(1) REDIS_URL=$(BENCH_REDIS)/$(2) Q_BROKER=redis DEBUG=0 \
  MEDIA_ROOT=$(CURDIR)/var/$(1)-media
define stack_database
	@psql "$(BENCH_PG)/$(1)" -tAc 'SELECT 1' >/dev/null 2>&1 \
	  || createdb --maintenance-db="$(BENCH_PG)/postgres" $(1)
	$(call stack_env,$(1),$(2)) $(BIN)/python manage.py migrate --noinput -v0
endef

loadtest: $(VENV)/.dev-installed
	$(call stack_database,vectorcraft_loadtest,2)
	$(call stack_env,vectorcraft_loadtest,2) $(BIN)/python manage.py loadtest $(LOADTEST_ARGS)

# Run with the production environment set (docs/DEPLOY.md); CI runs it with example values.
deploy-check: $(VENV)/.runtime-installed
	DJANGO_ENV=production $(BIN)/python manage.py check --deploy --fail-level WARNING

clean-venv:
	rm -rf $(VENV)
