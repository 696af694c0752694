"""The job queue: whether Redis answers, and queueing a short job that talks to one node.

Jobs are named by their dotted path, so that the web process never imports nodes.jobs and,
through it, libvirt: every libvirt call happens in a worker or the watcher."""

import django_rq
import redis
from django.conf import settings

from nodes.operations.errors import QueueUnavailable


def job_queue():
    return django_rq.get_queue("default")


def redis_is_reachable():
    try:
        return bool(django_rq.get_connection("default").ping())
    except redis.exceptions.RedisError:
        return False


def require_queue():
    if not redis_is_reachable():
        raise QueueUnavailable(
            "The job queue (Redis) is not reachable, so nothing was queued. Pages still work; "
            "start Redis or fix REDIS_URL, then try again."
        )


def enqueue_node_job(function, row_id, job_id, description, module="nodes.jobs"):
    """Queue a short job that talks to one node (a probe, a read): it may take the probe
    timeout to connect, then a little more. module holds the function (an app's jobs)."""
    job_queue().enqueue(
        f"{module}.{function}",
        row_id,
        job_id=job_id,
        job_timeout=settings.KUMO_PROBE_TIMEOUT + 30,
        description=description,
    )
