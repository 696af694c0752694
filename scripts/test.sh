#!/usr/bin/env bash
# `make test`: lint, configuration checks and the whole suite against real Redis and libvirt.
# On SQLite by default; on PostgreSQL when DATABASE_URL says so. The tests start libvirt daemons
# of their own (tests/libvirtd.py): the machine's libvirtd is never used, started or stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/services.sh

trap stop_started EXIT
ensure_redis

say "Lint"
.venv/bin/ruff format --check --quiet .
.venv/bin/ruff check --quiet .
say "Configuration and migrations"
.venv/bin/python manage.py check --fail-level WARNING
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null ||
  die "Models and migrations disagree: run manage.py makemigrations."
say "Tests on ${DATABASE_URL:-SQLite}"
.venv/bin/pytest "$@"
