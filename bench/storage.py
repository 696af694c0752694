"""Benchmark making an image of an instance's disk.

Prints one JSON line:
{"image_from_instance_s", "qemu_img_convert_s", "ratio", "disk_gib", "written_mib"}

- image_from_instance: what the create-image action does with an instance's root disk (a
  qcow2 overlay of DISK_GIB, WRITTEN_MIB of data in its base and a little in the overlay),
  through a private libvirt daemon's QEMU driver (tests/libvirtd.py; the machine's own
  daemon is not used): Storage.flattened_copy (libvirt's qemu-img convert) and
  Storage.download into a file, the copy deleted after;
- qemu_img_convert: `qemu-img convert -O qcow2` of the same overlay by hand;
- ratio: the first over the second (the download is the extra cost: it copies the
  flattened file a second time, from the node to the console host).
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

DISK_GIB, WRITTEN_MIB, OVERLAY_MIB = 2, 512, 64
POOL = "bench-disks"


def qemu(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_disk(folder):
    """base.qcow2 with WRITTEN_MIB of data, root.qcow2 on it with OVERLAY_MIB more."""
    base, root = folder / "base.qcow2", folder / "root.qcow2"
    qemu("qemu-img", "create", "-q", "-f", "qcow2", str(base), f"{DISK_GIB}G")
    qemu("qemu-io", "-f", "qcow2", "-c", f"write -P 0xab 0 {WRITTEN_MIB}M", str(base))
    qemu("qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(root))
    qemu("qemu-io", "-f", "qcow2", "-c", f"write -P 0xcd 1G {OVERLAY_MIB}M", str(root))
    return root


def through_kumo(daemon, folder):
    from nodes.libvirt import Endpoint, Hypervisor, Storage

    with Hypervisor(Endpoint(daemon.qemu_uri), 30) as hypervisor:
        storage = Storage(hypervisor)
        pool = storage.pool(POOL, str(folder))
        started = time.perf_counter()
        copy = storage.flattened_copy(pool, "root.qcow2", "emi-BENCH000.qcow2")
        storage.download(copy, str(folder / "downloaded.qcow2"))
        elapsed = time.perf_counter() - started
        storage.delete_volume(copy)
        pool.destroy()
        pool.undefine()
    return elapsed


def by_hand(root, folder):
    started = time.perf_counter()
    qemu("qemu-img", "convert", "-O", "qcow2", str(root), str(folder / "by-hand.qcow2"))
    return time.perf_counter() - started


def main():
    _django.setup()
    from tests.libvirtd import PrivateLibvirtd

    daemon = PrivateLibvirtd("s")
    daemon.start()
    try:
        with tempfile.TemporaryDirectory(prefix="kumo-bench-disks-") as name:
            folder = Path(name)
            root = make_disk(folder)
            by_hand(root, folder)  # warm the page cache for both
            kumo = through_kumo(daemon, folder)
            hand = by_hand(root, folder)
    finally:
        daemon.stop()
    print(
        json.dumps(
            {
                "image_from_instance_s": round(kumo, 3),
                "qemu_img_convert_s": round(hand, 3),
                "ratio": round(kumo / hand, 2),
                "disk_gib": DISK_GIB,
                "written_mib": WRITTEN_MIB + OVERLAY_MIB,
            }
        )
    )


if __name__ == "__main__":
    main()
