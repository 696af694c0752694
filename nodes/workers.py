"""The rq workers registered in Redis, and which of them are alive. For the web process
(`/healthz`) and the watcher alike: nothing here imports libvirt."""

import os
import socket

from django.utils import timezone
from rq.defaults import DEFAULT_WORKER_TTL
from rq.worker import Worker


def process_exists(pid):
    """True when a process with this pid runs on this host (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_alive(worker):
    """A worker on this host is alive while its process is; one elsewhere while its last
    heartbeat is younger than rq's worker TTL (a worker killed with -9 leaves its
    registration behind, for up to an hour)."""
    if worker.hostname == socket.gethostname():
        return worker.pid is not None and process_exists(worker.pid)
    oldest = timezone.now() - timezone.timedelta(seconds=DEFAULT_WORKER_TTL)
    return worker.last_heartbeat is not None and worker.last_heartbeat > oldest


def live_worker_count(connection):
    """How many workers registered in the Redis at connection are alive."""
    return sum(1 for worker in Worker.all(connection=connection) if is_alive(worker))
