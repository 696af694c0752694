# Make sure Redis and a libvirt daemon answer; start our own when they do not.
# Sourced by run.sh and test.sh. What it starts is listed in STARTED (pid files) and
# STARTED_UNITS (systemd units) so that the caller can stop it again: `trap stop_started EXIT`.

STARTED=()
STARTED_UNITS=()

wait_for() {  # wait_for SECONDS COMMAND...: true once COMMAND succeeds, false at the deadline
  local seconds=$1; shift
  for _ in $(seq $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

redis_answers() { redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  redis_answers && return
  local host port
  host=$(python3 -c 'import sys,urllib.parse as u; print(u.urlsplit(sys.argv[1]).hostname or "")' "$REDIS_URL")
  port=$(python3 -c 'import sys,urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 6379)' "$REDIS_URL")
  case "$host" in
    127.0.0.1|localhost|::1) ;;
    *) die "Redis at $REDIS_URL does not answer; Kumo starts one only on this machine." ;;
  esac
  say "Starting Redis on 127.0.0.1:$port (state in $KUMO_VAR_DIR/redis)"
  mkdir -p "$KUMO_VAR_DIR/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$KUMO_VAR_DIR/redis" \
    --save "" --appendonly no --logfile "$KUMO_VAR_DIR/redis/redis.log" \
    --pidfile "$KUMO_VAR_DIR/redis/redis.pid"
  STARTED+=("$KUMO_VAR_DIR/redis/redis.pid")
  wait_for 10 redis_answers ||
    die "Redis did not come up within 10s: see $KUMO_VAR_DIR/redis/redis.log."
}

# Debian's udev rule for /dev/kvm (GROUP="kvm", MODE="0660"), applied where no udev runs, as
# in containers: with a root-only /dev/kvm, libvirt re-probes QEMU on every call and defining
# one domain takes about a minute.
apply_kvm_device_rule() {
  [ -c /dev/kvm ] && getent group kvm >/dev/null || return 0
  [ "$(stat -c %G:%a /dev/kvm)" = kvm:660 ] && return 0
  as_root chgrp kvm /dev/kvm && as_root chmod 660 /dev/kvm
}

runs() { [ -s "$1" ] && [ -d "/proc/$(cat "$1")" ]; }  # the process of a pid file is alive

libvirt_answers() { virsh -c qemu:///system version && virsh -c test+unix:///default version; }

ensure_libvirtd() {
  apply_kvm_device_rule
  libvirt_answers >/dev/null 2>&1 && return
  if [ -d /run/systemd/system ]; then
    say "Starting libvirtd (systemd)"
    systemctl is-active --quiet libvirtd || STARTED_UNITS+=(libvirtd)
    as_root systemctl start libvirtd
  else
    say "Starting libvirtd and virtlogd (no systemd here)"
    as_root mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/qemu
    # By the system pid files, not by name: the private daemons of a `make test` running
    # meanwhile are libvirtd processes too.
    runs /var/run/virtlogd.pid || { as_root virtlogd -d; STARTED+=(/var/run/virtlogd.pid); }
    runs /var/run/libvirtd.pid || { as_root libvirtd -d; STARTED+=(/var/run/libvirtd.pid); }
  fi
  wait_for 20 libvirt_answers ||
    die "libvirtd does not answer on qemu:///system and test+unix:///default within 20s." \
      "$( [ "$(id -u)" -eq 0 ] || echo "Is $(id -un) in the 'libvirt' group of a login since set-up? (newgrp libvirt)")"
}

# The demo's second QEMU node, local-2: a libvirtd of Kumo's own (nodes/libvirt/private.py),
# so that one machine can try migration and draining. Root's, as the tests' daemons are; a
# machine where it cannot start runs the demo without it.
start_second_node() {
  local pidfile="$KUMO_VAR_DIR/local-2.pid" log="$KUMO_VAR_DIR/local-2.log" launcher
  rm -f "$pidfile"
  [ "$(id -u)" -eq 0 ] || sudo -v || { say "No sudo: the demo runs without node local-2."; return 0; }
  say "Starting the libvirt daemon of node local-2 (log in $log)"
  as_root .venv/bin/python manage.py privatelibvirtd --pid-file "$pidfile" >"$log" 2>&1 &
  launcher=$!
  STARTED+=("$pidfile")
  for _ in $(seq 300); do  # a first start probes QEMU: up to a minute
    [ -s "$pidfile" ] && return 0
    [ -d "/proc/$launcher" ] || break
    sleep 0.2
  done
  say "local-2's libvirtd did not start (see $log): the demo runs without it."
}

# Stop what we started and wait for it to be gone: a libvirtd still shutting down holds its
# pid file and sockets, and the next `make test` would find it half there.
stop_started() {
  local pidfile pid unit
  for unit in ${STARTED_UNITS[@]+"${STARTED_UNITS[@]}"}; do  # (bash < 4.4: empty is unset)
    as_root systemctl stop "$unit" || true
  done
  for pidfile in ${STARTED[@]+"${STARTED[@]}"}; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    as_root kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do
      [ -d "/proc/$pid" ] || continue 2
      sleep 0.1
    done
    as_root kill -9 "$pid" 2>/dev/null || true
  done
}
