"""The collector on a real QEMU (TCG) guest booting the Debian installer on a private daemon."""

import time

import pytest

from nodes.metrics.collector import sample
from nodes.metrics.models import Reading
from nodes.metrics.series import Subject

pytestmark = pytest.mark.django_db(transaction=True)


def figures_while_booting(node, instance, seconds):
    """The instance's readings, one a second, for seconds."""
    readings = []
    for _ in range(seconds):
        sample(node)
        readings.append(Reading.objects.get(kind=Subject.INSTANCE, subject_id=instance.pk))
        time.sleep(1)
    return readings


def disk_read_bytes(reading):
    return sum(disk.get("rd_bytes", 0) for disk in reading.counters["disks"].values())


def test_a_booting_guest_uses_cpu_and_reads_its_disks(installer):
    readings = figures_while_booting(installer.node, installer, 8)
    assert any((r.figures["cpu_percent"] or 0) > 0 for r in readings)
    assert disk_read_bytes(readings[-1]) > 0
    assert disk_read_bytes(readings[-1]) >= disk_read_bytes(readings[0])
    memory = readings[-1].figures
    assert memory["memory_total_bytes"] == installer.instance_type.memory_mb * 1024**2
    assert memory["memory_source"] in {"balloon", "rss"} and memory["memory_used_bytes"] > 0
