#!/usr/bin/env bash
# `make run`: the console with its background processes, on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/services.sh

trap stop_started EXIT
ensure_redis
ensure_libvirtd

.venv/bin/python manage.py check --fail-level ERROR
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py collectstatic --no-input -v0
say "Demo logins:"
.venv/bin/python manage.py seeddemo --once
say "Kumo: http://127.0.0.1:$PORT/, consoles through ws://127.0.0.1:${CONSOLE_PORT:-6080}/  (Ctrl-C stops everything started here)"
.venv/bin/honcho start -f Procfile -c worker=2
