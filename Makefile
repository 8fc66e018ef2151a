# Wangge's commands. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := scripts/uv.sh

.PHONY: help sync run test lint unit system bench docs services-start services-stop clean \
	wheelhouse image test-deploy

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

sync: ## install the workspace (uv, one lock file), compiled, and the web dashboard's assets (npm lock)
	@$(UV) sync --all-groups --frozen --quiet --compile-bytecode
	@$(UV) run --frozen python -m compileall -q -j 0 libs services benchmarks conftest.py
	@scripts/web-assets.sh

run: sync ## every service on the embedded default (SQLite under ./var/), a small subdistrict seeded
	@scripts/run.sh

test: sync ## provision PostgreSQL and Kafka, lint, run every test, stop what was started
	@scripts/test.sh

lint: sync ## ruff and mypy --strict (libs, services, every test folder, the benchmarks)
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check libs services tests benchmarks conftest.py
	@$(UV) run --frozen mypy --strict -p wangge.events -p wangge.service -p wangge.governance -p wangge.registry -p wangge.hotline_bridge -p wangge.cases -p wangge.training -p wangge.views -p wangge.replay
	@$(UV) run --frozen mypy --strict libs/events/tests libs/service/tests libs/governance/tests libs/replay/tests services/registry/tests
	@$(UV) run --frozen mypy --strict services/hotline-bridge/tests  # a conftest of its own
	@$(UV) run --frozen mypy --strict services/cases/tests services/training/tests services/views/tests
	@$(UV) run --frozen mypy --strict tests/e2e  # tests/e2e and tests/system: a conftest each
	@$(UV) run --frozen mypy --strict tests/system
	@$(UV) run --frozen mypy --strict tests/fuzz  # a conftest of its own
	@$(UV) run --frozen mypy --strict benchmarks  # a bench that no longer type-checks would fail only in make bench

unit: sync ## the unit tests alone (no servers)
	@$(UV) run --frozen pytest -q libs/events/tests/unit libs/service/tests/unit libs/governance/tests/unit \
		services/registry/tests/unit services/hotline-bridge/tests/unit services/cases/tests/unit \
		services/training/tests/unit services/views/tests/unit libs/replay/tests/unit

system: sync ## the system tests alone: the services as processes on servers of their own (kill -9, outages)
	@$(UV) run --frozen pytest -q -m system tests/system

bench: sync ## benchmarks against raw drivers and a peer library; prints a table with ratios
	@scripts/bench.sh

docs: sync ## JSON Schemas and the AsyncAPI document of every event type (docs/events/), the access matrices
	@$(UV) run --frozen wangge-events schemas --out docs/events
	@$(UV) run --frozen wangge registry access-table --out docs/registry/access.md
	@$(UV) run --frozen wangge hotline-bridge access-table --out docs/hotline-bridge/access.md
	@$(UV) run --frozen wangge cases access-table --out docs/cases/access.md
	@$(UV) run --frozen wangge training access-table --out docs/training/access.md
	@$(UV) run --frozen wangge views access-table --out docs/views/access.md

wheelhouse: ## every wheel the image needs, from the lock (.dev/wheelhouse), for a build with no network
	@scripts/deploy/wheelhouse.sh >/dev/null

image: wheelhouse ## the services' image wangge:0.1.0 (WANGGE_VERSION), built with no network from the wheelhouse
	@docker build --network=none --build-arg WHEELHOUSE=yes \
		$${WANGGE_PYTHON_IMAGE:+--build-arg PYTHON_IMAGE=$$WANGGE_PYTHON_IMAGE} \
		-t wangge:$${WANGGE_VERSION:-0.1.0} .

test-deploy: sync ## the compose stack brought up for real on a Docker engine (local stand-in base images)
	@scripts/deploy/test.sh

services-start: ## start the dev PostgreSQL and Kafka (prints their environment)
	@scripts/dev/services.sh start

services-stop: ## stop the dev PostgreSQL and Kafka
	@scripts/dev/services.sh stop

clean: services-stop ## stop services and remove local state
	rm -rf .dev var
