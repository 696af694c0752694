"""The graphs of the instance and node pages (drawn by static/src/graphs.js from the metrics
API), and the dashboard's busiest instances and nodes: what each chart plots, why a subject
has nothing to plot, and the latest figures, all read from the database."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db.models import FloatField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from nodes.choices import NodeStatus, PowerState, VmState
from nodes.metrics.models import Reading
from nodes.metrics.series import GAP_AFTER_INTERVALS, Subject
from nodes.models import Instance, Node


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str  # how graphs.js writes its axis: percent, bytes, bytes_per_s or count
    lines: tuple[tuple[str, str], ...]  # (series, label), one line each
    tells_memory_source: bool = False  # says whether the guest or the host gave the figure

    @property
    def lines_json(self):
        return json.dumps([{"series": series, "label": label} for series, label in self.lines])


MEMORY = Chart(
    "Memory",
    "bytes",
    (("memory_used_bytes", "Used"), ("memory_total_bytes", "Total")),
    tells_memory_source=True,
)
DISK = Chart(
    "Disk",
    "bytes_per_s",
    (("disk_read_bytes_per_s", "Read"), ("disk_write_bytes_per_s", "Written")),
)
NETWORK = Chart(
    "Network", "bytes_per_s", (("net_rx_bytes_per_s", "Received"), ("net_tx_bytes_per_s", "Sent"))
)
CHARTS = {
    Subject.INSTANCE: (
        Chart("CPU", "percent", (("cpu_percent", "Of its vCPUs"),)),
        MEMORY,
        DISK,
        NETWORK,
    ),
    Subject.NODE: (
        Chart("CPU", "percent", (("cpu_percent", "Host"), ("instances_cpu_percent", "Instances"))),
        MEMORY,
        DISK,
        NETWORK,
        Chart("Running instances", "count", (("running_instances", "Instances"),)),
    ),
}


def fresh_since(unix_time):
    """The oldest sample that is still a subject's current figure."""
    return unix_time - GAP_AFTER_INTERVALS * settings.KUMO_METRICS_INTERVAL


def last_sample_time(kind, subject_id):
    taken = Reading.objects.filter(kind=kind, subject_id=subject_id)
    return next(iter(taken.values_list("taken_at", flat=True)), None)


def why_nothing_new(subject, taken_at, unix_time):
    """Why an instance or node has no current sample ("not_running", "node_disabled",
    "node_down", "stale" or "no_samples"), or None when it has one."""
    if taken_at is not None and taken_at >= fresh_since(unix_time):
        return None
    if isinstance(subject, Instance) and subject.power_state != PowerState.RUNNING:
        return "not_running"
    node = subject.node if isinstance(subject, Instance) else subject
    if node is not None and not node.enabled:
        return "node_disabled"
    if node is not None and node.status == NodeStatus.DOWN:
        return "node_down"
    return "stale" if taken_at is not None else "no_samples"


def figure(series):
    return Cast(KeyTextTransform(series, "figures"), FloatField())


def busiest(kind, subjects, unix_time, count, *series):
    """[(subject id, CPU %, *series)] of the `count` subjects among `subjects` (a queryset)
    whose current CPU is the highest. (Starting from the readings costs half as much as a
    subquery per subject: 30 ms for 10,000 instances on SQLite.)"""
    readings = Reading.objects.filter(
        kind=kind, taken_at__gte=fresh_since(unix_time), subject_id__in=subjects.values("pk")
    )
    figures = {name: figure(name) for name in ("cpu_percent", *series)}
    rows = readings.annotate(**figures).filter(cpu_percent__isnull=False)
    return list(
        rows.order_by("-cpu_percent", "subject_id").values_list("subject_id", *figures)[:count]
    )


def top_instances(user, unix_time, count=5):
    """[(ec2 id, name, node name, CPU %, memory used)] of the visible live instances that use
    the most CPU now."""
    visible = Instance.objects.for_user(user).exclude(vm_state=VmState.DELETED)
    rows = busiest(Subject.INSTANCE, visible, unix_time, count, "memory_used_bytes")
    names = visible.filter(pk__in=[row[0] for row in rows])
    known = {pk: rest for pk, *rest in names.values_list("pk", "ec2_id", "name", "node__name")}
    return [(*known[pk], *figures) for pk, *figures in rows if pk in known]


def busiest_nodes(user, unix_time, count=5):
    """[(name, CPU %, memory used, memory total, running instances)] of the visible nodes
    whose CPU is the busiest now."""
    visible = Node.objects.for_user(user)
    series = ("memory_used_bytes", "memory_total_bytes", "running_instances")
    rows = busiest(Subject.NODE, visible, unix_time, count, *series)
    names = dict(visible.filter(pk__in=[row[0] for row in rows]).values_list("pk", "name"))
    return [(names[pk], *figures) for pk, *figures in rows if pk in names]
