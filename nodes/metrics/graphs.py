"""The graphs of the instance and node pages (drawn by static/src/graphs.js from the metrics
API): what each chart plots, and why a subject has nothing new to plot."""

import json
from dataclasses import dataclass

from django.conf import settings

from nodes.choices import NodeStatus, PowerState
from nodes.metrics.models import Reading
from nodes.metrics.series import GAP_AFTER_INTERVALS, Subject
from nodes.models import Instance


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
