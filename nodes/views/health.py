"""GET /healthz: is the console able to work? For load balancers and monitoring."""

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from redis.exceptions import RedisError

from nodes import operations
from nodes.models import Node
from nodes.workers import live_worker_count


def database_is_reachable():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def worker_count():
    """Workers that are alive, not merely registered: a killed one stays registered."""
    try:
        return live_worker_count(operations.job_queue().connection)
    except RedisError:
        return 0


@never_cache
@login_not_required
def healthz(request):
    database = database_is_reachable()
    redis = operations.redis_is_reachable()
    nodes = (
        {
            node.name: {"status": node.status, "enabled": node.enabled, "last_seen": node.last_seen}
            for node in Node.objects.all()
        }
        if database
        else {}
    )
    body = {
        "database": "ok" if database else "unreachable",
        "redis": "ok" if redis else "unreachable",
        "workers": worker_count() if redis else 0,
        "nodes": nodes,
    }
    return JsonResponse(body, status=200 if database and redis else 503)
