"""Benchmark queued actions.

Prints one JSON line:
{"enqueue_to_start_p50_ms", "actions_per_s", "launch_to_running_p50_s", "libvirt_create_p50_s"}

- enqueue_to_start: from requesting an action to its job starting in a worker;
- actions_per_s: stop/start actions on the sim node (libvirt's test driver) with 2 workers;
- launch_to_running: from the launch request to the instance running, real QEMU (TCG) on
  qemu:///system, images already on the node;
- libvirt_create: bare defineXML + create of the same domain XML, for comparison.
Targets: enqueue→start p50 ≤ 20 ms; actions_per_s ≥ 50; launch_to_running ≤ libvirt_create + 0.5 s.
Uses its own SQLite database, Redis database 14 and two `manage.py rqworker` processes run
as deploy/supervisord.conf runs them.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

INSTANCES = 20
ROUNDS = 4
LAUNCHES = 4
WORKER_ARGS = ["--worker-class", "rq.worker.SimpleWorker"]  # as deploy/supervisord.conf runs them


def start_workers(count):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "console.settings"}
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "default", *WORKER_ARGS],
            cwd=_django.ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def wait_done(actions, seconds=600):
    from nodes.models import Action

    deadline = time.monotonic() + seconds
    pending = [a.pk for a in actions]
    while pending and time.monotonic() < deadline:
        pending = list(
            Action.objects.filter(pk__in=pending, finished_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        time.sleep(0.005)
    failed = Action.objects.filter(pk__in=[a.pk for a in actions], status="failed")
    assert not pending and not failed.exists(), [a.error for a in failed]


def launch(user, node, **fields):
    from nodes import operations
    from nodes.models import Image, InstanceType

    [(instance, action)] = operations.launch(
        user,
        image=Image.objects.get(kind="machine"),
        cluster=node.cluster,
        node=node,
        instance_type=InstanceType.objects.get(name="m1.small"),
        **fields,
    )
    return instance, action


def sim_instances(admin):
    from nodes.models import Instance, Node

    sim = Node.objects.get(name="sim")
    Node.objects.filter(pk=sim.pk).update(ram_allocation_ratio=4)  # 20 m1.small on 3 GiB
    launches = [launch(admin, sim) for _ in range(INSTANCES)]
    wait_done([action for _, action in launches])
    return list(Instance.objects.filter(node=sim))


def enqueue_to_start(instance, admin):
    """Dispatch latency on an idle queue: one action at a time."""
    from nodes import operations
    from nodes.choices import ActionKind

    latencies = []
    for round_ in range(40):
        kind = ActionKind.PAUSE if round_ % 2 == 0 else ActionKind.UNPAUSE
        requested = time.time()
        action = operations.request_action(instance, kind, admin)
        wait_done([action])
        action.refresh_from_db()
        instance.refresh_from_db()
        latencies.append((action.started_at.timestamp() - requested) * 1000)
    return statistics.median(latencies)


def throughput(instances, admin):
    """Stop and start every instance, ROUNDS times; actions finished per second."""
    from nodes import operations
    from nodes.choices import ActionKind

    count, started = 0, time.perf_counter()
    for round_ in range(ROUNDS):
        kind = ActionKind.STOP if round_ % 2 == 0 else ActionKind.START
        actions = [operations.request_action(i, kind, admin) for i in instances]
        wait_done(actions)
        for instance in instances:
            instance.refresh_from_db()
        count += len(actions)
    return count / (time.perf_counter() - started)


def launch_to_running(admin):
    from nodes import operations
    from nodes.choices import ActionKind
    from nodes.models import Node

    local = Node.objects.get(name="local")
    warm, action = launch(admin, local)  # uploads the image once
    wait_done([action])
    times, domains = [], []
    for _ in range(LAUNCHES):
        started = time.perf_counter()
        instance, action = launch(admin, local)
        wait_done([action])
        times.append(time.perf_counter() - started)
        instance.refresh_from_db()
        domains.append(instance)
    creates = [bare_create(instance) for instance in domains]
    ends = [operations.request_action(i, ActionKind.TERMINATE, admin) for i in [warm, *domains]]
    wait_done(ends)
    return statistics.median(times), statistics.median(creates)


def bare_create(instance):
    """defineXML + create of the instance's own domain XML under another name and UUID,
    on its own (stopped) disk."""
    from lxml import etree

    from nodes.libvirt import Hypervisor

    domain = etree.fromstring(instance.domain_xml.encode())
    domain.find("name").text = f"bench-{uuid.uuid4().hex[:8]}"
    domain.find("uuid").text = str(uuid.uuid4())
    xml = etree.tostring(domain, encoding="unicode")
    with Hypervisor(instance.node.endpoint(), 10) as hypervisor:
        hypervisor.destroy(instance.uuid)
        started = time.perf_counter()
        hypervisor.define(xml)
        hypervisor.start(domain.find("uuid").text)
        took = time.perf_counter() - started
        hypervisor.destroy(domain.find("uuid").text)
        hypervisor.undefine(domain.find("uuid").text)
    return took


def main():
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/14"
    _django.setup()
    import django_rq
    from django.contrib.auth import get_user_model

    from nodes.libvirt import Endpoint, open_connection
    from nodes.models import Node
    from nodes.probing import probe_and_record

    django_rq.get_connection("default").flushdb()
    keep_alive = open_connection(Endpoint("test+unix:///default"), 10)  # as the watcher does
    for node in Node.objects.all():
        assert probe_and_record(node), node.last_error
    admin = get_user_model().objects.get(username="admin")
    workers = start_workers(2)
    try:
        time.sleep(2)
        instances = sim_instances(admin)
        enqueue_p50 = enqueue_to_start(instances[0], admin)
        per_second = throughput(instances, admin)
        launch_p50, create_p50 = launch_to_running(admin)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait()
        keep_alive.close()
    print(
        json.dumps(
            {
                "enqueue_to_start_p50_ms": round(enqueue_p50, 1),
                "actions_per_s": round(per_second, 1),
                "launch_to_running_p50_s": round(launch_p50, 2),
                "libvirt_create_p50_s": round(create_p50, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
