"""Benchmark volumes: making an image of one, and attaching one to a running guest.

Prints one JSON line:
{"image_from_volume_s", "qemu_img_convert_s", "ratio", "image_from_volume_streamed_s",
 "attach_visible_p50_s", "volume_gib", "written_mib"}

On a private libvirt daemon (nodes/libvirt/private.py; the machine's own daemon is not used):
- image_from_volume: what the make-an-image action does with a VOLUME_GIB sparse volume
  holding WRITTEN_MIB of data on a node that is this host: Storage.local_file, then
  convert_to_qcow2 into a file (nodes/runners.copy_into_image);
- qemu_img_convert: `qemu-img convert -O qcow2` of the same file by hand; ratio: the first
  over the second (target ≤ 1.2), medians of ROUNDS alternating rounds, each copy into a
  new file after `sync` (dirty pages left by one copy would slow the next);
- image_from_volume_streamed: the same on a node that is another host: libvirt's flattened
  copy on the node, then the download through a stream (for comparison, no target);
- attach_visible: from the attach request (nodes/storage/volumes.attach_volume) to the
  volume's serial in the running guest's live XML, the job run by an rq worker in this
  process, ATTACHES times on the Debian installer under TCG (target p50 ≤ 2 s).
Uses its own SQLite database with the demo cloud and Redis database 13.
"""

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

VOLUME_GIB, WRITTEN_MIB, ATTACHES, ROUNDS = 2, 512, 5, 3
POOL = "bench-volumes"
GIB = 1 << 30


def qemu(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_volume(storage, folder):
    """A sparse qcow2 volume of VOLUME_GIB with WRITTEN_MIB of data; its pool and path."""
    pool = storage.pool(POOL, str(folder))
    path = storage.create_blank(POOL, str(folder), "vol-BENCH000.qcow2", VOLUME_GIB * GIB)
    qemu("qemu-io", "-f", "qcow2", "-c", f"write -P 0xab 0 {WRITTEN_MIB}M", path)
    pool.refresh(0)
    return pool, path


def timed(copy, target):
    """The seconds copy(target) takes into a new file, dirty pages written out before (so
    that each copy starts from the same state) and target removed after."""
    os.sync()
    started = time.perf_counter()
    copy(target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def converted_here(storage, pool):
    from nodes.libvirt.storage import convert_to_qcow2

    def copy(target):
        convert_to_qcow2(storage.local_file(pool, "vol-BENCH000.qcow2"), str(target))

    return copy


def streamed(storage, pool):
    def copy(target):
        flat = storage.flattened_copy(pool, "vol-BENCH000.qcow2", "emi-BENCH002.qcow2")
        storage.download(flat, str(target))
        storage.delete_volume(flat)

    return copy


def by_hand(path):
    def copy(target):
        qemu("qemu-img", "convert", "-O", "qcow2", path, str(target))

    return copy


def image_figures(daemon):
    from nodes.libvirt import Endpoint, Hypervisor, Storage

    with tempfile.TemporaryDirectory(prefix="kumo-bench-volumes-") as name:
        folder = Path(name)
        with Hypervisor(Endpoint(daemon.qemu_uri), 30) as hypervisor:
            storage = Storage(hypervisor)
            pool, path = make_volume(storage, folder)
            target = folder / "emi-BENCH001.qcow2"
            timed(by_hand(path), target)  # the source in the page cache for all
            rounds = [
                (timed(converted_here(storage, pool), target), timed(by_hand(path), target))
                for _ in range(ROUNDS)
            ]
            stream = timed(streamed(storage, pool), target)
            storage.delete_pool(POOL)
    here, hand = (statistics.median(figures) for figures in zip(*rounds, strict=True))
    return here, hand, stream


def running_installer(daemon):
    """The demo's Debian installer launched on node local, moved to the private daemon."""
    from django.contrib.auth import get_user_model

    from nodes import operations
    from nodes.libvirt.private import NETWORK
    from nodes.models import Image, InstanceType, Node
    from nodes.probing import probe_and_record

    Node.objects.filter(name="local").update(
        uri=daemon.qemu_uri, nic_type="network", nic_source=NETWORK, **daemon.node_paths()
    )
    Node.objects.exclude(name="local").update(enabled=False)
    local = Node.objects.get(name="local")
    assert probe_and_record(local), local.last_error
    [(instance, _)] = operations.launch(
        get_user_model().objects.get(username="admin"),
        image=Image.objects.get(kind="machine"),
        kernel=Image.objects.get(kind="kernel"),
        ramdisk=Image.objects.get(kind="ramdisk"),
        instance_type=InstanceType.objects.get(name="m1.medium"),
        cluster=local.cluster,
        node=local,
    )
    run_jobs()
    instance.refresh_from_db()
    assert instance.vm_state == "active", instance.actions.get().error
    return instance


def run_jobs():
    import django_rq
    from rq import SimpleWorker

    queue = django_rq.get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def attach_latencies(instance):
    from nodes.libvirt import Hypervisor
    from nodes.storage import volumes
    from nodes.storage.models import Volume

    admin, node = instance.owner, instance.node
    made = [volumes.create_volume(admin, node, 1)[0] for _ in range(ATTACHES)]
    run_jobs()
    latencies = []
    with Hypervisor(node.endpoint(), 30) as hypervisor:
        domain = hypervisor.require(instance.uuid)
        for volume in Volume.objects.filter(pk__in=[v.pk for v in made]):
            started = time.perf_counter()
            volumes.attach_volume(volume, instance, admin)
            run_jobs()
            while volume.ec2_id not in hypervisor.live_xml(domain):
                time.sleep(0.01)
            latencies.append(time.perf_counter() - started)
    return latencies


def main():
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/13"
    os.environ["KUMO_PROBE_TIMEOUT"] = "30"  # a fresh daemon probes QEMU's capabilities
    _django.setup()
    import django_rq

    from nodes import operations
    from nodes.choices import ActionKind
    from nodes.libvirt.private import PrivateLibvirtd

    django_rq.get_queue("default").connection.flushdb()
    daemon = PrivateLibvirtd("s")
    daemon.start()
    try:
        here, hand, stream = image_figures(daemon)
        instance = running_installer(daemon)
        latencies = attach_latencies(instance)
        operations.request_action(instance, ActionKind.TERMINATE, instance.owner)
        run_jobs()
    finally:
        daemon.stop()
    print(
        json.dumps(
            {
                "image_from_volume_s": round(here, 3),
                "qemu_img_convert_s": round(hand, 3),
                "ratio": round(here / hand, 2),
                "image_from_volume_streamed_s": round(stream, 3),
                "attach_visible_p50_s": round(statistics.median(latencies), 3),
                "volume_gib": VOLUME_GIB,
                "written_mib": WRITTEN_MIB,
            }
        )
    )


if __name__ == "__main__":
    main()
