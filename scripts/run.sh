#!/usr/bin/env bash
# `make run`: the console with its background processes, on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/services.sh

# deploy/supervisord.conf runs the processes and restarts one that dies. Its own log (starts,
# exits, restarts) comes to this terminal; each process logs to a file of its own under
# var/log, followed here from this run's start (the previous run's are in var/log/previous).
SUPERVISORD=""
FOLLOWER=""
LOGS="$KUMO_VAR_DIR/log"
supervisorctl() { .venv/bin/supervisorctl -c deploy/supervisord.conf "$@"; }

supervise() {
  mkdir -p "$LOGS/previous"
  find "$LOGS" -maxdepth 1 -type f -exec mv -f -t "$LOGS/previous" {} +
  .venv/bin/supervisord -c deploy/supervisord.conf &
  SUPERVISORD=$!
  wait_for 20 supervisorctl avail || die "supervisord did not start: see $KUMO_VAR_DIR/supervisord.log."
  local process logs=()
  for process in $(supervisorctl avail | awk '{ sub(/.*:/, "", $1); print $1 }'); do
    logs+=("$LOGS/$process.log")  # (supervisorctl names worker-0 "kumo:worker-0")
  done
  tail -n +1 -F "${logs[@]}" 2>/dev/null &
  FOLLOWER=$!
  wait "$SUPERVISORD"
}

stop_supervised() {  # supervisord stops its processes (each within its stopwaitsecs) on TERM
  [ -z "$FOLLOWER" ] || kill "$FOLLOWER" 2>/dev/null || true
  [ -z "$SUPERVISORD" ] || { kill "$SUPERVISORD" 2>/dev/null; wait "$SUPERVISORD"; } || true
}

trap 'stop_supervised; stop_started' EXIT
ensure_redis
ensure_libvirtd
start_second_node

.venv/bin/python manage.py check --fail-level ERROR
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py collectstatic --no-input -v0
say "Demo logins:"
.venv/bin/python manage.py seeddemo --once
say "Kumo: http://127.0.0.1:$PORT/, consoles through ws://127.0.0.1:${CONSOLE_PORT:-6080}/  (Ctrl-C stops everything started here)"
supervise
