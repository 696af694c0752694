"""Benchmark migration between two private libvirt daemons on this machine (DESIGN.md §9).

Prints one JSON line: {"kumo_live_s", "virsh_live_s", "ratio", "block_mib_s", "cold_ratio"}

- kumo_live: the migrate action of the demo's Debian installer (m1.medium, 512 MiB, TCG)
  from node local to local-2, from the request to the action's end (checks, disks prepared
  on the destination, the live migration, the source's disks deleted), its job run by an rq
  worker already running;
- virsh_live: `virsh migrate` of the same guest back, with the same flags and destination
  XML, its disks prepared there beforehand (not timed); ratio: the first over the second
  (target ≤ 1.2). Means of ROUNDS each, as many each way, a worker already running for
  Kumo's, after a first, untimed, migration (each daemon has run the guest once); the
  figures and the Kumo action's steps go to stderr;
- block_mib_s: a live migration with a 1 GiB volume holding 1 GiB of data attached: that
  GiB over the time of the action's live-migration step;
- cold_ratio: the cold migration of the stopped instance with a 2 GiB sparse volume holding
  512 MiB attached (the action, from request to end) over `cp --sparse=always` of the same
  files (both moved once, page cache warm).
Uses its own SQLite database with the demo cloud and Redis database 13.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

# Rounds of one Kumo and one virsh migration, in turn each way (an even number: both do as
# many each way; one way is faster on these machines). Their means are compared.
ROUNDS = 6


def timed_action(request):
    """Seconds from request() (which queues an action) to the end of its job."""
    from storage import run_jobs

    started = time.perf_counter()
    action = request()
    run_jobs()
    action.refresh_from_db()
    assert action.status == "succeeded", action.error
    return time.perf_counter() - started, action


def second_node(daemon, first):
    from nodes.libvirt.private import NETWORK
    from nodes.models import Node
    from nodes.probing import probe_and_record

    Node.objects.filter(name="local-2").update(  # the demo's, moved to the bench's daemon
        uri=daemon.qemu_uri,
        enabled=True,
        nic_source=NETWORK,
        **(daemon.node_paths() | {"images_path": first.images_path}),
    )
    node = Node.objects.get(name="local-2")
    assert probe_and_record(node), node.last_error
    return node


def migrate(instance, node):
    from nodes import operations

    return lambda: operations.migrate(instance, instance.owner, node.name)


def compared(instance, local, local_2, rounds=ROUNDS):
    """The mean seconds of Kumo's migrate actions (a worker already running, as in a
    deployment) and of bare `virsh migrate`s, as many each way; it ends on local_2."""
    from nodes.models import Instance

    kumo, virsh = [], []
    with running_worker():
        for round_ in range(rounds):  # it is on local_2 before and after each
            if round_ % 2 == 0:
                virsh.append(virsh_back(Instance.objects.get(pk=instance.pk), local_2, local))
            seconds, action = action_with_worker(
                migrate(Instance.objects.get(pk=instance.pk), local if round_ % 2 else local_2)
            )
            kumo.append(seconds)
            if round_ % 2:
                virsh.append(virsh_back(Instance.objects.get(pk=instance.pk), local, local_2))
    for step in action.steps:
        print(f"{step_seconds(action, step['name']):6.2f} s  {step['name']}", file=sys.stderr)
    print(f"kumo {kumo}, virsh {virsh}", file=sys.stderr)
    return statistics.mean(kumo), statistics.mean(virsh)


@contextlib.contextmanager
def running_worker():
    command = [sys.executable, "manage.py", "rqworker", "default"]
    command += ["--worker-class", "rq.worker.SimpleWorker"]
    worker = subprocess.Popen(
        command, cwd=_django.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(3)  # it has started and listens
    try:
        yield
    finally:
        worker.terminate()
        worker.wait()


def action_with_worker(request):
    """Seconds from request() to the end of its action, which a running worker carries out."""
    started = time.perf_counter()
    action = request()
    while not (action.refresh_from_db() or action.finished):
        time.sleep(0.01)
    assert action.status == "succeeded", action.error
    return time.perf_counter() - started, action


def virsh_back(instance, source, target):
    """`virsh migrate` from source to target with Kumo's flags, the disks prepared first."""
    from nodes import migrating
    from nodes.choices import ActionKind
    from nodes.libvirt import Hypervisor
    from nodes.libvirt.migration import relocated
    from nodes.models import Action, Instance
    from nodes.runners import Run

    Instance.objects.filter(pk=instance.pk).update(task_state="migrating")
    action = Action.objects.create(instance=instance, kind=ActionKind.MIGRATE, job_id="bench")
    run = Run(action)
    action.add_step("Prepare the disks for virsh")
    with Hypervisor(source.endpoint(), 30) as here, Hypervisor(target.endpoint(), 30) as there:
        migrating.prepare_disks(run, here, there, target, copy_writable=False)
        domain = here.require(instance.uuid)
        moves = migrating.path_moves(instance, source, target)
        xml = relocated(here.migratable_xml(domain), moves)
        defined = relocated(here.migratable_xml(domain, defined=True), moves)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "live.xml").write_text(xml)
        Path(folder, "defined.xml").write_text(defined)
        command = ["virsh", "-c", source.uri, "migrate", "--live", "--persistent"]
        command += ["--undefinesource", "--copy-storage-inc", "--migrateuri", "tcp://127.0.0.1"]
        command += ["--xml", f"{folder}/live.xml", "--persistent-xml", f"{folder}/defined.xml"]
        started = time.perf_counter()
        subprocess.run([*command, instance.ec2_id, target.uri], check=True)
        elapsed = time.perf_counter() - started
    Instance.objects.filter(pk=instance.pk).update(node=target, task_state=None)
    action.delete()
    return elapsed


def volume_with_data(instance, gib, written_mib):
    """A volume of gib GiB holding written_mib MiB, attached to instance."""
    from storage import run_jobs

    from nodes.storage import volumes
    from nodes.storage.models import Volume

    volume, _ = volumes.create_volume(instance.owner, instance.node, gib)
    run_jobs()
    volume = Volume.objects.get(pk=volume.pk)
    path = volume.path
    subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", f"write -P 0xab 0 {written_mib}M", path],
        check=True,
        capture_output=True,
    )
    volumes.attach_volume(volume, instance, instance.owner)
    run_jobs()
    return volume


def step_seconds(action, prefix):
    from datetime import datetime

    step = next(step for step in action.steps if step["name"].startswith(prefix))
    started, finished = (datetime.fromisoformat(step[k]) for k in ("started_at", "finished_at"))
    return (finished - started).total_seconds()


def files_of(instance):
    from nodes.storage.models import Volume

    folder = Path(instance.node.instances_path, instance.ec2_id)
    volumes = [Volume.objects.get(pk=v.pk).path for v in instance.volumes.all()]
    return [*folder.iterdir(), *map(Path, volumes)]


def copied_by_hand(files):
    with tempfile.TemporaryDirectory(prefix="kumo-bench-cp-") as folder:
        started = time.perf_counter()
        for path in files:
            subprocess.run(["cp", "--sparse=always", str(path), folder], check=True)
        os.sync()
        return time.perf_counter() - started


def figures(first_daemon, second_daemon):
    from storage import run_jobs, running_installer

    from nodes import operations
    from nodes.choices import ActionKind
    from nodes.models import Instance, Node

    instance = running_installer(first_daemon)
    local = Node.objects.get(name="local")
    local_2 = second_node(second_daemon, local)
    timed_action(migrate(instance, local_2))  # warm: each daemon has run the guest once
    kumo, virsh = compared(instance, local, local_2)
    instance = Instance.objects.get(pk=instance.pk)
    volume_with_data(instance, 1, 1024)
    _, moved = timed_action(migrate(instance, local))
    block = 1024 / step_seconds(moved, "Migrate it live")
    instance = Instance.objects.get(pk=instance.pk)
    operations.request_action(instance, ActionKind.STOP, instance.owner)
    run_jobs()
    volume_with_data(instance, 2, 512)
    by_hand = copied_by_hand(files_of(Instance.objects.get(pk=instance.pk)))
    cold, _ = timed_action(migrate(Instance.objects.get(pk=instance.pk), local_2))
    instance = Instance.objects.get(pk=instance.pk)
    operations.request_action(instance, ActionKind.TERMINATE, instance.owner)
    run_jobs()
    return kumo, virsh, block, cold / by_hand


def main():
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/13"
    os.environ["KUMO_PROBE_TIMEOUT"] = "30"  # a fresh daemon probes QEMU's capabilities
    _django.setup()
    import django_rq

    from nodes.libvirt.private import PrivateLibvirtd

    django_rq.get_queue("default").connection.flushdb()
    first, second = PrivateLibvirtd("ms"), PrivateLibvirtd("mt")
    first.start()
    second.start()
    try:
        kumo, virsh, block, cold_ratio = figures(first, second)
    finally:
        first.stop()
        second.stop()
    print(
        json.dumps(
            {
                "kumo_live_s": round(kumo, 2),
                "virsh_live_s": round(virsh, 2),
                "ratio": round(kumo / virsh, 2),
                "block_mib_s": round(block, 1),
                "cold_ratio": round(cold_ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
