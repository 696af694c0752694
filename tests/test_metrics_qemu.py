"""The collector on a real QEMU (TCG) guest booting the Debian installer on a private daemon."""

import time

import pytest

from nodes.metrics.collector import sample
from nodes.metrics.models import Reading
from nodes.metrics.series import Subject

pytestmark = pytest.mark.django_db(transaction=True)


def readings_while_booting(instance, seconds, until=lambda reading: False):
    """The instance's readings, one a second, for seconds or until one satisfies until."""
    readings = []
    for _ in range(seconds):
        sample(instance.node)
        readings.append(Reading.objects.get(kind=Subject.INSTANCE, subject_id=instance.pk))
        if until(readings[-1]):
            break
        time.sleep(1)
    return readings


def disk_read_bytes(reading):
    return sum(disk.get("rd_bytes", 0) for disk in reading.counters["disks"].values())


def test_a_booting_guest_uses_cpu_reads_its_disks_and_reports_its_memory(installer):
    first = readings_while_booting(installer, 1)[0]
    # The kernel reads its disk once, probing it: before the first sample on a quick boot,
    # up to minutes later on a loaded machine (TCG).
    readings = readings_while_booting(installer, 120, lambda r: disk_read_bytes(r) > 0)
    reads = [disk_read_bytes(r) for r in (first, *readings)]
    assert reads[-1] > 0 and reads == sorted(reads)  # counted from the domain's start
    assert any((r.figures["cpu_percent"] or 0) > 0 for r in readings)
    assert readings[-1].figures["memory_total_bytes"] == installer.instance_type.memory_mb << 20
    # Until the installer's kernel loads virtio_balloon, the host process's memory stands in.
    assert first.figures["memory_source"] == "rss"
    balloon = readings_while_booting(
        installer, 60, lambda r: r.figures["memory_source"] == "balloon"
    )
    guest = balloon[-1].figures
    assert guest["memory_source"] == "balloon"
    assert 0 < guest["memory_used_bytes"] < guest["memory_total_bytes"]
