"""GET /healthz without logging in: 200 when the database and Redis answer, else 503."""

import json
import subprocess

from django.utils import timezone
from rq import Worker
from rq.defaults import DEFAULT_WORKER_TTL
from rq.utils import utcformat

from nodes.models import Node
from tests.conftest import console_process


def test_it_is_200_with_each_node_status(client, sim_node, queue):
    Node.objects.filter(pk=sim_node.pk).update(status="up")
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert (body["database"], body["redis"], body["nodes"]["sim"]["status"]) == ("ok", "ok", "up")


def test_it_counts_the_workers_registered_in_redis(client, db, queue):
    worker = Worker([queue], connection=queue.connection, name="healthz-test")
    worker.register_birth()
    try:
        assert client.get("/healthz").json()["workers"] == 1
    finally:
        worker.register_death()


def registered_worker(queue, name, **attributes):
    """A worker registered in Redis as rq registers one, with attributes overridden."""
    worker = Worker([queue], connection=queue.connection, name=name)
    vars(worker).update(attributes)
    worker.register_birth()
    return worker


def a_dead_pid():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_it_does_not_count_a_worker_of_this_host_whose_process_is_gone(client, db, queue):
    registered_worker(queue, "alive")
    registered_worker(queue, "killed", pid=a_dead_pid())
    assert client.get("/healthz").json()["workers"] == 1


def test_it_counts_a_worker_of_another_host_while_its_heartbeat_is_fresh(client, db, queue):
    worker = registered_worker(queue, "elsewhere", hostname="another-host", pid=a_dead_pid())
    assert client.get("/healthz").json()["workers"] == 1
    stale = worker.last_heartbeat - timezone.timedelta(seconds=DEFAULT_WORKER_TTL + 1)
    queue.connection.hset(worker.key, "last_heartbeat", utcformat(stale))
    assert client.get("/healthz").json()["workers"] == 0


def test_it_is_503_when_redis_is_down(client, db, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "unreachable" and response.json()["workers"] == 0


def test_pages_still_render_when_redis_is_down(admin_client, sim_node, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    assert admin_client.get("/nodes/sim/").status_code == 200


def test_it_is_503_when_the_database_is_down(tmp_path):
    """In a console process whose database refuses connections (a stopped PostgreSQL)."""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='127.0.0.1').get('/healthz'); print(r.status_code, r.content.decode())"
    )
    result = console_process(["-c", code], tmp_path, DATABASE_URL="postgres://kumo@127.0.0.1:1/x")
    status, body = result.stdout.split(" ", 1)
    assert status == "503", result.stderr
    assert json.loads(body)["database"] == "unreachable"
