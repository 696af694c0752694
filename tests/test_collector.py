"""The collector against real daemons: the test driver's per-domain fallback, a node that
does not answer, a database that refuses the samples."""

import time

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from nodes.choices import DomainType, PowerState, VmState
from nodes.libvirt import Hypervisor
from nodes.metrics import collector
from nodes.metrics.collector import Collector, sample
from nodes.metrics.models import Point, Reading
from nodes.metrics.series import Subject
from nodes.models import Instance, Node
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_domain(world, sim_node):
    """Member A's instance as the test driver's running domain `test`."""
    with Hypervisor(sim_node.endpoint(), 10) as hypervisor:
        domain_uuid = next(u for u, name, _ in hypervisor.domains() if name == "test")
    instance = world["instance_a"]
    Instance.objects.filter(pk=instance.pk).update(
        uuid=domain_uuid, vm_state=VmState.ACTIVE, power_state=PowerState.RUNNING
    )
    return instance


def reading(kind, subject_id):
    return Reading.objects.get(kind=kind, subject_id=subject_id)


def test_the_test_driver_is_read_domain_by_domain(test_domain, sim_node):
    sample(sim_node)
    time.sleep(0.5)
    sample(sim_node)
    figures = reading(Subject.INSTANCE, test_domain.pk).figures
    assert figures["cpu_percent"] is not None
    assert figures["disk_read_bytes_per_s"] is not None
    assert figures["net_rx_bytes_per_s"] is not None
    assert figures["memory_source"] == "balloon"
    node = reading(Subject.NODE, sim_node.pk).figures
    assert node["running_instances"] == 1 and node["instances_cpu_percent"] is not None
    assert Point.objects.filter(kind=Subject.INSTANCE, subject_id=test_domain.pk).exists()


def test_rates_come_from_what_the_collector_remembers_not_the_database(test_domain, sim_node):
    remembered = collector.Remembered()
    sample(sim_node, remembered)
    Reading.objects.all().delete()  # as if another process had lost them
    time.sleep(0.5)
    sample(sim_node, remembered)
    assert reading(Subject.INSTANCE, test_domain.pk).figures["cpu_percent"] is not None


def test_a_terminated_instances_last_minute_still_rolls_up(test_domain, sim_node):
    sample(sim_node)
    Instance.objects.filter(pk=test_domain.pk).update(
        vm_state=VmState.DELETED, terminated_at=timezone.now()
    )
    counters = reading(Subject.NODE, sim_node.pk).counters
    collector.ingest(sim_node, counters, {}, time.time() + 60)  # the next minute, domain gone
    assert Point.objects.filter(kind=Subject.INSTANCE, subject_id=test_domain.pk, tier=1).exists()


def test_domains_kumo_did_not_create_are_left_out(world, sim_node):
    sample(sim_node)
    assert not Reading.objects.filter(kind=Subject.INSTANCE).exists()
    assert reading(Subject.NODE, sim_node.pk).figures["running_instances"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_node_that_never_answers_delays_no_other(test_domain, sim_node, silent_host, settings):
    settings.KUMO_PROBE_TIMEOUT = 3
    Node.objects.create(
        cluster=sim_node.cluster,
        name="hung",
        uri=f"qemu+tcp://127.0.0.1:{silent_host}/system",
        domain_type=DomainType.QEMU,
    )
    watcher = Collector()
    started = time.monotonic()
    watcher.collect()
    assert wait_for(lambda: Reading.objects.filter(kind=Subject.NODE).exists(), 2)
    assert time.monotonic() - started < 2
    watcher.wait()
    assert list(Reading.objects.filter(kind=Subject.NODE).values_list("subject_id", flat=True)) == [
        sim_node.pk
    ]


def test_a_database_that_refuses_drops_that_intervals_samples(test_domain, sim_node, monkeypatch):
    def refuse(*args):
        raise OperationalError("database is locked")

    monkeypatch.setattr(collector.history, "record", refuse)  # no real way to lock it briefly
    sample(sim_node)
    assert not Reading.objects.exists()
    monkeypatch.undo()
    sample(sim_node)
    assert Reading.objects.filter(kind=Subject.INSTANCE).exists()


def test_readings_far_apart_give_no_rates(test_domain, sim_node):
    sample(sim_node)
    gap = 3 * settings.KUMO_METRICS_INTERVAL + 1
    Reading.objects.update(taken_at=time.time() - gap)
    sample(sim_node)
    assert reading(Subject.INSTANCE, test_domain.pk).figures["cpu_percent"] is None
