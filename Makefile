# The commands a newcomer needs. `make up` runs the platform; `make test` runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help
INFRA := deploy/local/infra.sh
SERVICES := deploy/local/services.sh
# uv from PATH, else the one pip installs as a module.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: help install up down status test test-unit lint format infra bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install:  ## install uv and the Python workspace (locked), and the tools the tests use
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@command -v docker-compose >/dev/null 2>&1 || { \
		echo "installing docker-compose (used offline, to validate docker-compose.yml)"; \
		(apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null) || \
		echo "warning: could not install docker-compose; its validation test will fail"; }
	@test -f .local/asyncapi/node_modules/@asyncapi/specs/package.json || \
		npm install --prefix .local/asyncapi @asyncapi/specs@6.11.1 --silent --no-audit --no-fund

infra: install  ## start PostgreSQL, Kafka and FerretDB on 127.0.0.1
	@bash $(INFRA) up >/dev/null

up: infra  ## install what is missing, start the infrastructure and every service
	@bash $(SERVICES) start
	@echo "stop everything with: make down"

down:  ## stop the services and the infrastructure
	@bash $(SERVICES) stop
	@bash $(INFRA) down

status:  ## infrastructure, then each service's health, relay backlog, projection and consumer lag, DLQ, delivery queue
	-@bash $(INFRA) status
	@echo
	-@$(UV) run --frozen rse-status

test: infra  ## install what is missing, start the infrastructure, run the whole test suite
	@$(UV) run --frozen pytest

test-unit: install  ## only the tests that need no server
	@$(UV) run --frozen pytest -m "not integration"

# Each benchmark's table also goes to bench/out/<name>.txt, beside its plot <name>.png.
BENCHMARKS := eventstore_append relay_publish consumer_projection audit_replay \
	projection_latency revocation_delay memory \
	mixed_load \
	scale_out

bench: infra  ## run every benchmark (about 6 minutes); tables and plots in bench/out/
	@mkdir -p bench/out
	@set -o pipefail; for b in $(BENCHMARKS); do \
		echo "== $$b"; \
		$(UV) run --frozen python bench/$$b.py | tee bench/out/$$b.txt || exit 1; \
	done; \
	$(UV) run --frozen python bench/targets.py | tee bench/out/targets.txt

lint: install  ## ruff (lint and format check) and mypy --strict on every package
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy shared/src services/*/src audit/src

format: install  ## format the tree with ruff (and apply ruff's safe fixes)
	@$(UV) run --frozen ruff check --fix-only --quiet .
	@$(UV) run --frozen ruff format .
