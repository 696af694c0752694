"""The processes as `make run` runs them: under supervisord with deploy/supervisord.conf, and
the web under gunicorn with deploy/gunicorn.conf.py. Real processes on free ports, with the
test database and the tests' Redis database."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest
from django.conf import settings
from rq import Worker

from nodes.workers import process_exists
from tests.conftest import database_url_for_tests, wait_for

DEPLOY = settings.BASE_DIR / "deploy"
VENV_BIN = settings.BASE_DIR / ".venv" / "bin"


def free_port():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def console_env(var_dir, port):
    """The environment scripts/lib.sh gives the processes, on the test database and Redis."""
    (var_dir / "log").mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.TEST_REDIS_URL,
        "KUMO_VAR_DIR": str(var_dir),
        "PORT": str(port),
        "CONSOLE_PORT": str(free_port()),
    }


def healthz(port, timeout=5):
    """The body of GET /healthz, or None when the web does not answer within timeout."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as r:
            return json.load(r)
    except OSError:
        return None


def stop(process, seconds=60):
    """SIGTERM process and wait for it; SIGKILL its group when it outstays seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


class Supervisor:
    """supervisord running the repo's config, and supervisorctl to ask it."""

    def __init__(self, var_dir, port):
        self.port = port
        self.env = console_env(var_dir, port)
        self.process = subprocess.Popen(
            [VENV_BIN / "supervisord", "-c", DEPLOY / "supervisord.conf"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def pids(self):
        """{process name: pid} of the processes that run now."""
        result = subprocess.run(
            [VENV_BIN / "supervisorctl", "-c", DEPLOY / "supervisord.conf", "status"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        rows = [line.split() for line in result.stdout.splitlines()]
        return {row[0]: int(row[3].rstrip(",")) for row in rows if row[1:3] == ["RUNNING", "pid"]}


@pytest.fixture
def supervised(tmp_path, db, queue):
    supervisor = Supervisor(tmp_path / "var", free_port())
    try:
        yield supervisor
    finally:
        children = supervisor.pids()
        stop(supervisor.process)
        assert not [pid for pid in children.values() if process_exists(pid)]


def test_a_killed_worker_is_restarted_while_the_web_keeps_serving(supervised, queue):
    port = supervised.port
    # Both registered with Redis, and worker-0 past supervisord's startsecs (RUNNING).
    ready = lambda: (  # noqa: E731
        (healthz(port) or {}).get("workers") == 2 and "kumo:worker-0" in supervised.pids()
    )
    assert wait_for(ready, 90, every=0.5), "the stack did not come up with two workers"
    killed = supervised.pids()["kumo:worker-0"]
    os.kill(killed, signal.SIGKILL)
    assert wait_for(lambda: not process_exists(killed), 5)
    body = healthz(port)
    assert body is not None and body["workers"] == 1  # the killed one is still registered
    restarted = lambda: supervised.pids().get("kumo:worker-0") not in (None, killed)  # noqa: E731
    assert wait_for(restarted, 10, every=0.2), "supervisord did not restart the worker"
    assert wait_for(ready, 30, every=0.5), "the restarted worker did not register"
    assert Worker.count(connection=queue.connection) == 3  # the dead one, not counted


def slow_header_clients(port, count, connected, stop):
    """count connections that each send a request line and headers one byte at a time, until
    stop is set (or a minute passes); connected is set once they all are."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    connected.set()
    deadline = time.monotonic() + 60
    for byte in request:
        if stop.wait(0.1) or time.monotonic() > deadline:
            break
        for client in clients:
            client.send(bytes([byte]))
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def web(django_db_setup, tmp_path_factory):
    """The web process as the repo's gunicorn config runs it, on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [VENV_BIN / "gunicorn", "-c", DEPLOY / "gunicorn.conf.py", "console.wsgi"],
        cwd=settings.BASE_DIR,
        env=console_env(tmp_path_factory.mktemp("web") / "var", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: healthz(port) is not None, 60, every=0.5), "the web never came up"
        yield port
    finally:
        stop(process)


@pytest.mark.parametrize("slow_clients", [8, 50])
def test_slow_clients_do_not_stop_the_web_from_answering(web, slow_clients):
    connected, stop_clients = threading.Event(), threading.Event()
    clients = threading.Thread(
        target=slow_header_clients, args=(web, slow_clients, connected, stop_clients)
    )
    clients.start()
    try:
        assert connected.wait(10)
        time.sleep(0.5)  # each has sent a few bytes
        for _ in range(10):
            started = time.monotonic()
            assert healthz(web, timeout=5) is not None
            assert time.monotonic() - started < 5
    finally:
        stop_clients.set()
        clients.join()
