# Revenue OS: the two commands (`make demo`, `make test`) and their helpers.
# Everything is installed into the checkout (.venv, .venv-superset, .local/); only the
# PostgreSQL server comes from apt, and only when it is missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .local/tools/uv/bin/uv
VENV := .venv
# Debian's python3.11 when present: as root the services run as an unprivileged user, who
# cannot reach an interpreter under root's home (pyenv), nor any venv made from one.
VENV_PYTHON := $(if $(wildcard /usr/bin/python3.11),/usr/bin/python3.11,python3.11)
export UV_PYTHON_DOWNLOADS := never

.PHONY: help demo test test-unit test-warehouse test-compose down status refresh lint lock venv clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: venv ## install what is missing, start Postgres, Airflow and Superset, run one refresh
	$(VENV)/bin/revenue-os demo

CHROMIUM := /usr/bin/chromium

test: venv lint $(CHROMIUM) ## lint, then every test (compose on a private engine, unit, integration)
	REVENUE_OS_PROFILE=test $(VENV)/bin/python -m pytest

test-unit: venv ## run only the fast tests that need no running service
	$(VENV)/bin/python -m pytest -m unit

test-warehouse: venv ## run only the integration tests that need Postgres alone (no Airflow, no Superset)
	REVENUE_OS_PROFILE=test $(VENV)/bin/python -m pytest -m warehouse

test-compose: venv ## docker-compose.yml up for real on a private Docker Engine, one refresh, down (root)
	$(VENV)/bin/python -m pytest -m compose -s

down: ## stop exactly what `make demo` started
	@if [ -x $(VENV)/bin/revenue-os ]; then $(VENV)/bin/revenue-os down; else echo "nothing installed, nothing to stop"; fi

status: venv ## which services run, their memory, the latest refresh runs
	$(VENV)/bin/revenue-os status

refresh: venv ## trigger the refresh DAG on the running stack and wait for it
	$(VENV)/bin/revenue-os refresh

# The browser test drives Debian's chromium; playwright never downloads a browser here.
$(CHROMIUM):
	@echo "==> installing Debian's chromium for the dashboards' browser test"
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "the browser test needs chromium: apt-get install chromium (as root)" >&2; exit 1; fi

lint: venv ## ruff over the code
	$(VENV)/bin/ruff check plugins dags tests bench superset
	$(VENV)/bin/ruff format --check plugins dags tests bench superset

venv: $(VENV)/.synced ## install the Airflow-side venv from the hash-pinned lock

$(UV):
	@echo "==> bootstrapping uv $(UV_VERSION) with pip"
	@$(PYTHON) -m pip --version >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-pip; \
	  else echo "python3 has no pip: install python3-pip" >&2; exit 1; fi; }
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .local/tools/uv uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) requirements-dev.lock pyproject.toml
	@echo "==> installing $(VENV) from requirements-dev.lock"
	@if [ "$(VENV_PYTHON)" = /usr/bin/python3.11 ]; then \
	  grep -qx "home = /usr/bin" $(VENV)/pyvenv.cfg 2>/dev/null || rm -rf $(VENV); fi
	@[ -x $(VENV)/bin/python ] || $(UV) venv --quiet --python $(VENV_PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(VENV)/bin/python requirements-dev.lock
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps --editable .
	@touch $@

lock: $(UV) ## recompile the hash-pinned locks from requirements*.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	  requirements.txt -o requirements.lock
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	  requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	  superset/requirements.txt -o superset/requirements.lock

clean: ## stop every profile, delete its data, secrets and logs, and the venvs
	@if [ -x $(VENV)/bin/revenue-os ]; then \
	  for profile in demo test bench; do $(VENV)/bin/revenue-os --profile $$profile purge --yes; done; fi
	rm -rf $(VENV) .venv-superset .local
