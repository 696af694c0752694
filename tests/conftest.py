"""Personas (an admin, two members), the real Redis queue, a real rq worker, and the demo
inventory on the tests' own libvirt daemons (tests/libvirtd.py), started for the session."""

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import django_rq
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient
from rq import SimpleWorker

from nodes import operations
from nodes.choices import ActionKind, DomainType, ImageKind, NicType, PowerState, VmState
from nodes.consoles import proxy as console_proxy_server
from nodes.libvirt import Endpoint, Hypervisor, open_connection
from nodes.models import Cluster, Image, Instance, InstanceType, Keypair, Node
from nodes.probing import probe_and_record
from nodes.storage.models import Volume
from tests.browser import chromium_page
from tests.libvirtd import FIRST, NETWORK, SECOND, DaemonFailed


def pytest_sessionstart(session):
    """The daemon every libvirt test uses; a test run never touches the machine's own."""
    try:
        FIRST.start()
    except DaemonFailed as failure:
        pytest.exit(f"The tests' libvirt daemon did not start: {failure}", returncode=3)


def pytest_sessionfinish(session):
    FIRST.stop()
    SECOND.stop()


@pytest.fixture(scope="session")
def second_daemon():
    """A second private daemon (another host UUID), for tests that need two nodes' daemons."""
    if SECOND.process is None:
        SECOND.start()
    return SECOND


def ask_action(api, instance, name, **fields):
    """POST the action `name` with its fields to the instance's actions, as a script would."""
    return api.post(
        f"/api/v1/instances/{instance.ec2_id}/actions/", {"action": name, **fields}, format="json"
    )


def wait_for(condition, seconds, every=0.05):
    """True once condition() is, False if it is not within seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def demo_password(username):
    """The password seeddemo made for username (kept in the var directory)."""
    logins = (settings.VAR_DIR / "demo-logins.txt").read_text().splitlines()
    return next(line.split()[1] for line in logins if line.split()[0] == username)


def logs_in(username, password):
    """Whether the login page lets username in with password, in a new browser."""
    response = Client().post("/login/", {"username": username, "password": password})
    return response.status_code == 302


def console_process(args, var_dir, timeout=60, **env):
    """`python ARGS` run as a console process is (console.settings, KUMO_VAR_DIR=var_dir),
    with env added to the environment; it must end within timeout seconds."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "KUMO_VAR_DIR": str(var_dir),
            **env,
        },
    )


def pytest_collection_modifyitems(items):
    """A transactional test empties the database when it ends: each starts again from what
    the migrations made (the default stylesheet's rule among it), by serialized rollback."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction"):
            kwargs = {**marker.kwargs, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_user(
        "alice", password="pw", is_staff=True, is_superuser=True
    )


@pytest.fixture
def member_a(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw")


@pytest.fixture
def member_b(django_user_model):
    return django_user_model.objects.create_user("carol", password="pw")


@pytest.fixture
def admin_client(admin, client):
    client.force_login(admin)
    return client


@pytest.fixture
def member_client(member_a, client):
    client.force_login(member_a)
    return client


@pytest.fixture
def api():
    """An API client; `api.force_authenticate(user)` or token headers pick the caller."""
    return APIClient()


@pytest.fixture
def queue():
    """The real Redis queue, emptied before and after the test."""
    queue = django_rq.get_queue("default")
    queue.connection.flushdb()
    yield queue
    queue.connection.flushdb()


@pytest.fixture
def run_jobs(queue):
    """Run every queued job in this process with a real rq worker (burst mode)."""

    def run():
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    return run


def database_url_for_tests():
    """The test database as a URL, for processes the tests start."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_soon(queue):
    """Start a real rq worker process (burst) in half a second: for a request that waits for
    the job it enqueues."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_tests(),
    }
    command = [sys.executable, "manage.py", "rqworker", "default", "--burst"]
    command += ["--worker-class", "rq.worker.SimpleWorker"]
    timers = []

    def soon(delay=0.5):
        run = lambda: subprocess.run(command, env=env, capture_output=True, check=False)  # noqa: E731
        timers.append(threading.Timer(delay, run))
        timers[-1].start()

    yield soon
    for timer in timers:
        timer.join()


@pytest.fixture
def worker_process():
    """Start a real `manage.py rqworker` process, as deploy/supervisord.conf runs it, with
    hooks_dir."""
    started = []

    def start(hooks_dir):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.TEST_REDIS_URL,
            "KUMO_HOOKS_DIR": str(hooks_dir),
            "KUMO_VAR_DIR": str(settings.VAR_DIR),
        }
        command = [sys.executable, "manage.py", "rqworker", "default"]
        command += ["--worker-class", "rq.worker.SimpleWorker"]
        started.append(
            subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        return started[-1]

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="demo")


@pytest.fixture
def sim_node(cluster):
    return Node.objects.create(
        cluster=cluster, name="sim", uri=FIRST.test_uri, domain_type=DomainType.TEST
    )


@pytest.fixture
def local_node(cluster):
    return Node.objects.create(
        cluster=cluster,
        name="local",
        uri=FIRST.qemu_uri,
        domain_type=DomainType.QEMU,
        nic_type=NicType.NETWORK,
        nic_source=NETWORK,
        **FIRST.node_paths(),
    )


@pytest.fixture
def seeded(db, settings, tmp_path):
    """The demo cloud exactly as `manage.py seeddemo` makes it (its nodes on the machine's
    daemon: do not probe them)."""
    settings.VAR_DIR = tmp_path
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    call_command("seeddemo", stdout=io.StringIO())


@pytest.fixture
def demo(seeded):
    """The demo cloud on the tests' own daemons, its guests on the isolated network; node
    local-2 disabled until a test asks for it (local_2)."""
    Node.objects.filter(name="sim").update(uri=FIRST.test_uri)
    Node.objects.filter(name="local").update(
        uri=FIRST.qemu_uri, nic_type=NicType.NETWORK, nic_source=NETWORK, **FIRST.node_paths()
    )
    paths = SECOND.node_paths() | {"images_path": FIRST.node_paths()["images_path"]}
    Node.objects.filter(name="local-2").update(uri=SECOND.qemu_uri, enabled=False, **paths)


@pytest.fixture
def small(db):
    return InstanceType.objects.create(name="m1.small", vcpus=1, memory_mb=256, disk_gb=5)


def attached_volume(instance, owner):
    """A volume of owner's, in use as instance's vdc."""
    return Volume.objects.create(
        owner=owner,
        node=instance.node,
        size_gib=1,
        status="in-use",
        instance=instance,
        device="vdc",
    )


def make_image(owner, name, public=False, kind=ImageKind.MACHINE):
    return Image.objects.create(
        owner=owner, name=name, kind=kind, location=f"/images/{name}", is_public=public
    )


@pytest.fixture
def world(admin, member_a, member_b, cluster, sim_node, small):
    """Something of everybody's: a public image, private images, keypairs and instances."""
    public = make_image(admin, "public-disk", public=True)
    objects = {"public_image": public}
    for key, user in (("a", member_a), ("b", member_b)):
        image = make_image(user, f"{user.username}-disk")
        objects[f"image_{key}"] = image
        objects[f"keypair_{key}"] = Keypair.objects.create(
            owner=user, name="main", public_key="ssh-ed25519 AAAA", fingerprint="00:11"
        )
        objects[f"instance_{key}"] = Instance.objects.create(
            owner=user, cluster=cluster, node=sim_node, image=public, instance_type=small
        )
    return objects


@pytest.fixture
def running(world):
    """Member A's instance, as if it ran (no domain behind it: for console checks)."""
    instance = world["instance_a"]
    instance.vm_state, instance.power_state = VmState.ACTIVE, PowerState.RUNNING
    instance.save()
    return instance


@pytest.fixture
def page(live_server):
    """A headless Chromium page; pair it with `live_server.url`. A test fails if the
    Content-Security-Policy blocked anything on its pages."""
    with chromium_page() as page:
        yield page
        assert not page.csp_violations


@pytest.fixture(autouse=True)
def rate_counts_forgotten():
    """The API's throttle counts live in the cache, which outlives each test's database."""
    cache.clear()


@pytest.fixture(scope="session")
def test_driver_connection():
    return {}


@pytest.fixture(autouse=True)
def test_driver_kept_alive(test_driver_connection):
    """libvirt's test driver forgets its domains when its last connection closes; in the
    console the watcher holds one per node, here this does (again after a daemon restart)."""
    held = test_driver_connection.get("connection")
    if held is None or not answers(held):
        test_driver_connection["connection"] = open_connection(Endpoint(FIRST.test_uri), 10)


def answers(connection):
    """Whether the daemon behind connection is the one it opened (isAlive says so until a
    call fails, even after a restart)."""
    try:
        connection.getLibVersion()
    except Exception:  # libvirt's error, which tests do not import
        return False
    return True


@pytest.fixture
def installer(demo, admin, api, queue, run_jobs, settings):
    """The installer launched on the local node through the API (the demo has the
    boot-parameters rule enabled)."""
    instance = launch_installer(admin, api, run_jobs, settings)
    yield instance
    terminate_if_live(instance, admin, run_jobs)


def launch_installer(admin, api, run_jobs, settings, instance_type="m1.medium", before=None):
    """The demo's installer launched on its local node (QEMU, the tests' daemon) through
    the API, once before(instance) changed what it needs to before the launch runs."""
    settings.KUMO_STOP_TIMEOUT = 3
    settings.KUMO_REBOOT_TIMEOUT = 3
    settings.KUMO_PROBE_TIMEOUT = 30  # a libvirtd just started probes QEMU's capabilities
    local = Node.objects.get(name="local")
    assert probe_and_record(local), local.last_error
    Node.objects.filter(name="sim").update(enabled=False)
    Image.objects.filter(kind="machine").update(cloud_init=True)
    if not Keypair.objects.filter(owner=admin, name="main").exists():
        Keypair.generate(admin, "main")
    api.force_authenticate(admin)
    response = api.post(
        "/api/v1/instances/",
        {
            "keypair": "main",
            "image": Image.objects.get(kind="machine").ec2_id,
            "kernel": Image.objects.get(kind="kernel").ec2_id,
            "ramdisk": Image.objects.get(kind="ramdisk").ec2_id,
            "instance_type": instance_type,
            "name": "installer",
            "node": "local",
            "user_data": "#!/bin/sh\nbootparams=priority=critical kumo-test=1\n",
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    instance = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    if before is not None:
        before(instance)
    action = instance.actions.get()
    run_jobs()
    action.refresh_from_db()
    instance.refresh_from_db()
    assert action.status == "succeeded", action.error
    return instance


def terminate_if_live(instance, admin, run_jobs):
    instance.refresh_from_db()
    if instance.vm_state != "deleted":
        operations.request_action(instance, ActionKind.TERMINATE, admin)
        run_jobs()


@pytest.fixture
def console_proxy(settings):
    """The console proxy on a free port, in this process, pinging every second."""
    server = console_proxy_server.start(("127.0.0.1", 0), heartbeat=1)
    settings.CONSOLE_PORT = server.server_address[1]
    settings.KUMO_CONSOLE_URL = f"ws://127.0.0.1:{settings.CONSOLE_PORT}/"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def demo_sim(demo):
    """The demo's sim node, probed up, as the only enabled node."""
    node = Node.objects.get(name="sim")
    assert probe_and_record(node), node.last_error
    Node.objects.filter(name="local").update(enabled=False)
    return node


@pytest.fixture
def launched_on_sim(demo_sim, member_a, queue, run_jobs):
    """Member A's active instance on the sim node, launched by a real (in-process) rq worker;
    its domain is removed afterwards."""
    [(instance, _)] = operations.launch(
        member_a,
        image=Image.objects.get(kind="machine"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        cluster=demo_sim.cluster,
    )
    run_jobs()
    instance.refresh_from_db()
    assert instance.vm_state == "active"
    yield instance
    with Hypervisor(demo_sim.endpoint(), 10) as hypervisor:
        hypervisor.destroy(instance.uuid)
        hypervisor.undefine(instance.uuid)


@pytest.fixture
def local_2(demo, second_daemon, settings):
    """The demo's second QEMU node, enabled, on the second daemon; images in the same
    directory as the first node's (one machine), the rest in its own."""
    settings.KUMO_PROBE_TIMEOUT = 30
    Node.objects.filter(name="local-2").update(enabled=True)
    node = Node.objects.get(name="local-2")
    assert probe_and_record(node), node.last_error
    return node


@pytest.fixture
def two_sims(world, cluster, sim_node, queue):
    """Member A's active instance on node sim, and a second node sim-2 with room."""
    Node.objects.filter(pk=sim_node.pk).update(status="up", cpus=4, memory_mb=4096)
    other = Node.objects.create(
        cluster=cluster,
        name="sim-2",
        uri=FIRST.test_uri,
        domain_type=DomainType.TEST,
        status="up",
        cpus=4,
        memory_mb=4096,
    )
    instance = world["instance_a"]
    Instance.objects.filter(pk=instance.pk).update(vm_state="active", power_state="running")
    instance.refresh_from_db()
    return instance, other


@pytest.fixture
def silent_host():
    """A host that accepts TCP connections and never says a word: a hung libvirtd."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for peer in accepted:
        peer.close()
    listener.close()


NODE_GET_INFO = 6  # libvirt's remote procedure number of virNodeGetInfo


@pytest.fixture
def stalling_daemon(tmp_path):
    """A socket that relays to the real libvirtd until the client asks for the node's info,
    then never answers again: a daemon that accepts the connection and then hangs."""
    path = str(tmp_path / "stalling.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    peers = []

    def relay(client):
        daemon = socket.socket(socket.AF_UNIX)
        daemon.connect(str(FIRST.socket))
        peers.extend([client, daemon])
        threading.Thread(target=copy, args=(daemon, client), daemon=True).start()
        pending = b""
        while chunk := client.recv(65536):
            pending += chunk
            while len(pending) >= 16:
                length = int.from_bytes(pending[:4], "big")
                if len(pending) < length:
                    break
                message, pending = pending[:length], pending[length:]
                if int.from_bytes(message[12:16], "big") == NODE_GET_INFO:
                    return  # swallow it: the client waits for an answer that never comes
                daemon.sendall(message)

    def copy(source, target):
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)

    def serve():
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=relay, args=(listener.accept()[0],), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"qemu+unix:///system?socket={path}"
    listener.close()
    for peer in peers:
        peer.close()
