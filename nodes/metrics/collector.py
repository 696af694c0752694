"""The collector: every KUMO_METRICS_INTERVAL seconds, one bulk-stats call per node, its
figures recorded into the history. Run by `manage.py runcollector`; never called from a page.

Each node is read in a thread of its own, so a slow or dead node costs only its own timeout;
its instances simply get no sample for that interval (a gap in their graphs).
"""

import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait

import orjson
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from nodes.choices import VmState
from nodes.libvirt import Hypervisor, NodeError
from nodes.metrics import history
from nodes.metrics.figures import instance_figures, node_figures
from nodes.metrics.models import Point, Reading
from nodes.metrics.series import GAP_AFTER_INTERVALS, TIERS, Subject
from nodes.models import Instance, Node

log = logging.getLogger("nodes.metrics")


def dumps(value):
    return orjson.dumps(value).decode()


def previous_readings(kind, subject_ids, unix_time, remembered):
    """{subject id: (taken at, counters)} of the readings recent enough to compute rates
    from: those the collector remembers, the rest from the database (after a restart).
    (orjson and raw text: decoding 10,000 readings is a large cost.)"""
    oldest = unix_time - GAP_AFTER_INTERVALS * settings.KUMO_METRICS_INTERVAL
    found = {s: remembered[s] for s in subject_ids if s in remembered}
    missing = [s for s in subject_ids if s not in found]
    if missing:
        readings = Reading.objects.filter(kind=kind, subject_id__in=missing)
        text = readings.annotate(raw=Cast("counters", TextField()))
        for subject_id, taken_at, raw in text.values_list("subject_id", "taken_at", "raw"):
            found[subject_id] = (taken_at, orjson.loads(raw))
    return {s: reading for s, reading in found.items() if reading[0] >= oldest}


def figures_of(kind, counters_by_subject, unix_time, remembered, compute, *extra):
    ids = list(counters_by_subject)
    previous = previous_readings(kind, ids, unix_time, remembered.readings[kind])
    figures = {}
    for subject_id, counters in counters_by_subject.items():
        taken_at, before = previous.get(subject_id, (None, None))
        seconds = unix_time - taken_at if taken_at is not None else None
        if not seconds or seconds <= 0:
            before = None
        figures[subject_id] = compute(before, counters, seconds, *extra)
    return figures


def save_readings(kind, counters_by_subject, figures, unix_time):
    """Replace the subjects' readings (in SQL of its own: the ORM's bulk upsert costs several
    times more per row)."""
    rows = [
        (kind, subject_id, unix_time, dumps(counters), dumps(figures[subject_id]))
        for subject_id, counters in counters_by_subject.items()
    ]
    history.insert_many(
        Reading._meta.db_table,
        ("kind", "subject_id", "taken_at", "counters", "figures"),
        rows,
        "ON CONFLICT (kind, subject_id) DO UPDATE SET taken_at = excluded.taken_at, "
        "counters = excluded.counters, figures = excluded.figures",
    )


def last_sample_time(node):
    latest = Reading.objects.filter(kind=Subject.NODE, subject_id=node.pk)
    return next(iter(latest.values_list("taken_at", flat=True)), None)


def roll_up_finished_minutes(node, instance_ids, last_sample, unix_time):
    """Roll up the periods that ended since node's last sample (history.roll_up), for the
    node and instance_ids."""
    minute = TIERS[0]
    if last_sample is None or minute.period_start(last_sample) >= minute.period_start(unix_time):
        return
    since, until = minute.period_start(last_sample), minute.period_start(unix_time)
    history.roll_up(Subject.INSTANCE, instance_ids, since, until)
    history.roll_up(Subject.NODE, [node.pk], since, until)


class Remembered:
    """What a node's last interval read, kept by the collector between intervals so that
    rates need no read of the database: {kind: {subject id: (taken at, counters)}}."""

    def __init__(self):
        self.readings = {Subject.INSTANCE: {}, Subject.NODE: {}}

    def replace(self, kind, counters_by_subject, unix_time):
        self.readings[kind] = {s: (unix_time, c) for s, c in counters_by_subject.items()}


def ingest(node, node_counters, domain_counters, unix_time, remembered=None):
    """Record one interval of node: its own counters and {domain UUID: counters} of its
    running domains (those of unmanaged domains are left out)."""
    remembered = remembered or Remembered()
    held = Instance.objects.filter(node=node).exclude(vm_state=VmState.DELETED)
    managed = dict(held.values_list("pk", "uuid"))
    # Those terminated within a week still have periods to finish in the coarser tiers.
    recently = timezone.now() - timezone.timedelta(seconds=TIERS[-1].step)
    ended = Instance.objects.filter(
        node=node, vm_state=VmState.DELETED, terminated_at__gte=recently
    )
    by_instance = {
        pk: domain_counters[str(u)] for pk, u in managed.items() if str(u) in domain_counters
    }
    on_node = {node.pk: node_counters}
    instances = figures_of(Subject.INSTANCE, by_instance, unix_time, remembered, instance_figures)
    nodes = figures_of(
        Subject.NODE, on_node, unix_time, remembered, node_figures, list(instances.values())
    )
    last_sample = last_sample_time(node)
    with transaction.atomic():
        save_readings(Subject.INSTANCE, by_instance, instances, unix_time)
        save_readings(Subject.NODE, on_node, nodes, unix_time)
        history.record(Subject.INSTANCE, instances, unix_time)
        history.record(Subject.NODE, nodes, unix_time)
        rolled = [*managed, *ended.values_list("pk", flat=True)]
        roll_up_finished_minutes(node, rolled, last_sample, unix_time)
    remembered.replace(Subject.INSTANCE, by_instance, unix_time)
    remembered.replace(Subject.NODE, on_node, unix_time)


def sample(node, remembered=None):
    """Read node and record what it says; a failure costs this interval's samples only."""
    try:
        with Hypervisor(node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as hypervisor:
            node_counters, domain_counters = hypervisor.counters()
        ingest(node, node_counters, domain_counters, time.time(), remembered)
    except NodeError as error:
        log.info("no sample of node %s: %s", node.name, error)
    except DatabaseError as error:
        log.warning("samples of node %s dropped, the database refused them: %s", node.name, error)


def sample_in_thread(node, remembered):
    try:
        sample(node, remembered)
    finally:
        close_old_connections()  # the thread's own connection


def prune(now=None):
    """Remove the history of instances deleted more than KUMO_METRICS_KEEP_DELETED_DAYS ago,
    and of instances and nodes that no longer exist."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(days=settings.KUMO_METRICS_KEEP_DELETED_DAYS)
    expired = Instance.objects.filter(vm_state=VmState.DELETED, terminated_at__lt=cutoff)
    kept = {
        Subject.INSTANCE: Instance.objects.exclude(pk__in=expired.values("pk")).values("pk"),
        Subject.NODE: Node.objects.values("pk"),
    }
    for kind, subjects in kept.items():
        for model in (Point, Reading):
            model.objects.filter(kind=kind).exclude(subject_id__in=subjects).delete()


MAX_PARALLEL = 8  # nodes read at once


class Collector:
    """One read in flight per node at most."""

    def __init__(self, max_parallel=MAX_PARALLEL):
        self.pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="collect")
        self.in_flight = {}
        self.remembered = defaultdict(Remembered)  # by node pk

    def collect(self):
        """Start a sample of every enabled node whose previous one has finished."""
        self.in_flight = {pk: f for pk, f in self.in_flight.items() if not f.done()}
        for node in Node.objects.filter(enabled=True):
            if node.pk not in self.in_flight:
                self.in_flight[node.pk] = self.pool.submit(
                    sample_in_thread, node, self.remembered[node.pk]
                )

    def wait(self):
        wait(list(self.in_flight.values()))
