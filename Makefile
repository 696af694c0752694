# The two commands of the README, and their parts.
.PHONY: setup run test lint

## setup: install what is missing (system packages, .venv, browser assets)
setup:
	@scripts/setup.sh

## run: the console on http://127.0.0.1:$${PORT:-8000} with its background processes
run: setup
	@scripts/run.sh

## test: lint and the whole suite against real Redis and libvirt (PostgreSQL with DATABASE_URL)
test: setup
	@scripts/test.sh $(ARGS)

lint: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
