"""What /metrics serves Prometheus, from the database alone: a scrape never calls a node.

- Per-domain series, named and typed as the widely used libvirt exporter names them, from
  the collector's latest reading of each instance that is not deleted (a reading older
  than three intervals is not served: the instance stopped, or its node stopped answering),
  with Kumo's labels on each: instance_id, name, owner, node, cluster, instance_type, and
  target_device for a disk's or a NIC's.
- Kumo's own series (kumo_*), from its tables and the job queue, yielded by a
  prometheus_client Collector.
"""

import io
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from operator import methodcaller

import django_rq
import orjson
from django.conf import settings
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString
from redis.exceptions import RedisError

from nodes.choices import ActionKind, ActionStatus, ConsoleKind, NodeStatus, VmState
from nodes.metrics.models import Reading, RenderCount
from nodes.metrics.series import GAP_AFTER_INTERVALS, Subject
from nodes.models import Action, ConsoleSession, Instance, Node

logger = logging.getLogger(__name__)

# The text format generate_latest writes (the classic one: every name here is a legacy name).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def exposition() -> bytes:
    """The body of a scrape: Kumo's own families, then the per-domain ones."""
    body = io.BytesIO()
    body.write(generate_latest(REGISTRY))
    write_domain_families(body)
    return body.getvalue()


# Per-domain series ----------------------------------------------------------------------

LABEL_FIELDS = (
    ("instance_id", "ec2_id"),
    ("name", "name"),
    ("owner", "owner__username"),
    ("node", "node__name"),
    ("cluster", "cluster__name"),
    ("instance_type", "instance_type__name"),
)


@dataclass(frozen=True, eq=False)  # hashed by identity: the key of its samples in a scrape
class Family:
    name: str
    type: str  # counter or gauge
    help: str
    value: object  # counters (a domain's, or one device's) -> a number, or None when unknown

    def write(self, body, labels, values):
        """The family in the text format: its header, and a line per (labels, value)."""
        body.write(f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.type}\n".encode())
        line = f"{self.name}{{%b}} %a\n".encode()
        body.writelines(map(line.__mod__, zip(labels, values, strict=True)))


def kib_to_bytes(kib):
    return None if kib is None else kib * 1024


def memory_usage_bytes(counters):
    """What the guest uses (balloon available − unused) when its balloon driver says, else
    what the host gave the process (RSS)."""
    balloon = counters.get("balloon") or {}
    if "available_kib" in balloon and "unused_kib" in balloon:
        return (balloon["available_kib"] - balloon["unused_kib"]) * 1024
    return kib_to_bytes(balloon.get("rss_kib"))


def cpu_seconds(counters):
    nanoseconds = counters.get("cpu_time_ns")
    return None if nanoseconds is None else nanoseconds / 1e9


def counter(name, help, key):
    return Family(name, "counter", help, methodcaller("get", key))


DOMAIN_FAMILIES = (
    Family(
        "libvirt_domain_info_cpu_time_seconds_total",
        "counter",
        "Amount of CPU time used by the domain, in seconds.",
        cpu_seconds,
    ),
    Family(
        "libvirt_domain_info_maximum_memory_bytes",
        "gauge",
        "Maximum allowed memory of the domain, in bytes.",
        lambda counters: kib_to_bytes(counters.get("memory_max_kib")),
    ),
    Family(
        "libvirt_domain_info_memory_usage_bytes",
        "gauge",
        "Memory usage of the domain, in bytes: balloon available minus unused when the guest "
        "reports them, else the host's resident set size.",
        memory_usage_bytes,
    ),
    Family(
        "libvirt_domain_info_virtual_cpus",
        "gauge",
        "Number of virtual CPUs for the domain.",
        methodcaller("get", "vcpus"),
    ),
)
BLOCK = "libvirt_domain_block_stats"
DISK_FAMILIES = (
    counter(f"{BLOCK}_read_bytes_total", "Number of bytes read from a block device.", "rd_bytes"),
    counter(
        f"{BLOCK}_read_requests_total", "Number of read requests from a block device.", "rd_reqs"
    ),
    counter(f"{BLOCK}_write_bytes_total", "Number of bytes written to a block device.", "wr_bytes"),
    counter(
        f"{BLOCK}_write_requests_total", "Number of write requests to a block device.", "wr_reqs"
    ),
    counter(f"{BLOCK}_errors_total", "Number of I/O errors of a block device.", "errors"),
)
NET = "libvirt_domain_interface_stats"
NIC_FAMILIES = tuple(
    counter(
        f"{NET}_{direction}_{what}_total",
        f"Number of {noun} {verb} a network interface.",
        f"{way}_{short}",
    )
    for way, direction, verb in (("rx", "receive", "received on"), ("tx", "transmit", "sent on"))
    for what, short, noun in (
        ("bytes", "bytes", "bytes"),
        ("packets", "pkts", "packets"),
        ("errors", "errs", "packet errors"),
        ("drops", "drop", "packets dropped"),
    )
)
DEVICE_FAMILIES = (("disks", DISK_FAMILIES), ("nics", NIC_FAMILIES))
ALL_DOMAIN_FAMILIES = DOMAIN_FAMILIES + DISK_FAMILIES + NIC_FAMILIES


def escape(value):
    """A label value as the text format quotes it."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


LABELS = ",".join(f'{label}="%s"' for label, _ in LABEL_FIELDS)


def label_text(values):
    """The labels of an instance, in UTF-8 (escaped only when a value needs it: most never
    do, and 10,000 instances' labels are made at every scrape)."""
    if any(mark in "".join(values) for mark in ('"', "\\", "\n")):
        values = map(escape, values)
    return (LABELS % tuple(values)).encode()


def instance_labels():
    """{pk: label text} of every instance that is not deleted: one query with its joins."""
    fields = [Coalesce(field, Value("")) for _, field in LABEL_FIELDS]  # node: none yet
    rows = Instance.objects.exclude(vm_state=VmState.DELETED).order_by().values_list("pk", *fields)
    return {pk: label_text(values) for pk, *values in rows}


def fresh_readings():
    """(instance pk, counters) of the readings younger than GAP_AFTER_INTERVALS intervals,
    streamed and decoded one by one from their raw text (orjson: three times json's speed),
    so that each is dropped once its values are taken."""
    fresh_since = time.time() - GAP_AFTER_INTERVALS * settings.KUMO_METRICS_INTERVAL
    readings = Reading.objects.filter(kind=Subject.INSTANCE, taken_at__gt=fresh_since)
    raw = readings.annotate(raw=Cast("counters", TextField())).values_list("subject_id", "raw")
    for subject_id, text in raw.iterator(chunk_size=1000):
        yield subject_id, orjson.loads(text)


def write_domain_families(body):
    """The per-domain families, in the text format that generate_latest writes. Not written
    by generate_latest: it sorts and escapes every sample's labels anew, which took 5 s for
    the 170,000 samples of 10,000 instances. Here each instance's labels are made once, each
    family's samples gathered in one pass over the readings, then written out family by
    family straight into the body (no copy of 30 MB of lines: on this scale, memory touched
    costs as much as the formatting)."""
    labels = instance_labels()
    samples = {family: ([], []) for family in ALL_DOMAIN_FAMILIES}
    domain = gatherers(DOMAIN_FAMILIES, samples)
    devices = [(group, gatherers(families, samples)) for group, families in DEVICE_FAMILIES]
    for pk, counters in fresh_readings():
        label = labels.get(pk)
        if label is None:
            continue  # deleted
        gather(domain, label, counters)
        for group, group_gatherers in devices:
            for device, stats in (counters.get(group) or {}).items():
                device_label = b'%b,target_device="%b"' % (label, escape(device).encode())
                gather(group_gatherers, device_label, stats)
    for family in ALL_DOMAIN_FAMILIES:
        family.write(body, *samples[family])


def gatherers(families, samples):
    """(the value's function, and the appends of its labels and values) of each family."""
    return [
        (family.value, samples[family][0].append, samples[family][1].append) for family in families
    ]


def gather(family_gatherers, label, counters):
    for value_of, add_label, add_value in family_gatherers:
        value = value_of(counters)
        if value is not None:
            add_label(label)
            add_value(value)


# Kumo's own series ----------------------------------------------------------------------

DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class KumoCollector:
    """Kumo's own state, read at each scrape: nodes, actions, the queue, consoles, renders."""

    def collect(self):
        yield nodes_by_status()
        yield node_up()
        yield actions_by_kind_and_status()
        yield action_durations()
        yield from queue_depth()
        yield console_sessions_open()
        yield from rule_renders()


def counted_by(name, documentation, queryset, field, values):
    """A gauge of queryset's rows by field, one sample for each of values (zero included)."""
    family = GaugeMetricFamily(name, documentation, labels=[field])
    counts = dict(queryset.order_by().values_list(field).annotate(Count("pk")))
    for value in values:
        family.add_metric([value], counts.get(value, 0))
    return family


def nodes_by_status():
    return counted_by(
        "kumo_nodes",
        "Nodes by the status their last probe left.",
        Node.objects.all(),
        "status",
        NodeStatus.values,
    )


def node_up():
    family = GaugeMetricFamily(
        "kumo_node_up",
        "1 if the node's last probe found it up, else 0.",
        labels=["node", "cluster"],
    )
    for name, cluster, status in Node.objects.values_list("name", "cluster__name", "status"):
        family.add_metric([name, cluster], 1 if status == NodeStatus.UP else 0)
    return family


def actions_by_kind_and_status():
    family = GaugeMetricFamily(
        "kumo_actions", "Actions recorded, by kind and status.", labels=["kind", "status"]
    )
    rows = Action.objects.order_by().values_list("kind", "status").annotate(Count("pk"))
    counts = {(kind, status): count for kind, status, count in rows}
    for kind in ActionKind.values:
        for status in ActionStatus.values:
            family.add_metric([kind, status], counts.get((kind, status), 0))
    return family


def action_durations():
    """From each finished action's start to its end, by kind: one aggregate query."""
    family = HistogramMetricFamily(
        "kumo_action_duration_seconds",
        "Time from a finished action's start in a worker to its end, by kind.",
        labels=["kind"],
    )
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    finished = Action.objects.filter(
        status__in=[ActionStatus.SUCCEEDED, ActionStatus.FAILED],
        started_at__isnull=False,
        finished_at__isnull=False,
    )
    within = {
        f"within_{bound}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
        for bound in DURATION_BUCKETS
    }
    rows = (
        finished.annotate(duration=duration)
        .order_by()
        .values("kind")
        .annotate(count=Count("pk"), total=Sum("duration"), **within)
    )
    for row in rows:
        buckets = [(floatToGoString(b), row[f"within_{b}"]) for b in DURATION_BUCKETS]
        buckets.append(("+Inf", row["count"]))
        family.add_metric([row["kind"]], buckets, row["total"].total_seconds())
    return family


def queue_depth():
    """Jobs waiting in each rq queue; a Redis that does not answer leaves its queue out."""
    family = GaugeMetricFamily("kumo_queue_jobs", "Jobs waiting in the rq queue.", labels=["queue"])
    for name in settings.RQ_QUEUES:
        try:
            family.add_metric([name], django_rq.get_queue(name).count)
        except RedisError as error:
            logger.warning("/metrics: the %s queue's Redis does not answer: %s", name, error)
    if family.samples:
        yield family


def console_sessions_open():
    return counted_by(
        "kumo_console_sessions_open",
        "Consoles open in browsers, by kind.",
        ConsoleSession.objects.filter(ended_at__isnull=True),
        "kind",
        ConsoleKind.values,
    )


def rule_renders():
    renders = CounterMetricFamily(
        "kumo_rule_renders",
        "Renders of an instance's domain XML through the rules, for a launch or a preview.",
        labels=["purpose"],
    )
    failures = CounterMetricFamily(
        "kumo_rule_render_failures",
        "Renders for a launch or a preview whose rules produced no domain.",
        labels=["purpose"],
    )
    rows = RenderCount.objects.values_list("purpose", "renders", "failures")
    counts = {purpose: (done, failed) for purpose, done, failed in rows}
    for purpose in (RenderCount.LAUNCH, RenderCount.PREVIEW):
        done, failed = counts.get(purpose, (0, 0))
        renders.add_metric([purpose], done)
        failures.add_metric([purpose], failed)
    yield renders
    yield failures


REGISTRY = CollectorRegistry()
REGISTRY.register(KumoCollector())
