# Helpers shared by the set-up, run and test scripts (sourced, not run).

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mError:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Environment defaults every process shares.
export PORT="${PORT:-8000}"
export CONSOLE_PORT="${CONSOLE_PORT:-6080}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export KUMO_VAR_DIR="${KUMO_VAR_DIR:-$PWD/var}"
