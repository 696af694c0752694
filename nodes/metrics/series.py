"""The series Kumo keeps, the consolidation tiers they are kept in, and the timeframes the
graphs and the API offer. One home for these names: models, collector, API and pages read
them from here."""

from dataclasses import dataclass

from django.db import models

INSTANCE_SERIES = (
    "cpu_percent",
    "memory_used_bytes",
    "memory_total_bytes",
    "disk_read_bytes_per_s",
    "disk_write_bytes_per_s",
    "disk_read_ops_per_s",
    "disk_write_ops_per_s",
    "net_rx_bytes_per_s",
    "net_tx_bytes_per_s",
)
NODE_SERIES = (*INSTANCE_SERIES, "instances_cpu_percent", "running_instances")
SERIES = NODE_SERIES

GAP_AFTER_INTERVALS = 3
"""Two readings further apart than this many intervals give no rates (a gap), and a latest
reading older than that is no longer the subject's current figure."""


class Subject(models.TextChoices):
    INSTANCE = "instance"
    NODE = "node"


class Consolidation(models.TextChoices):
    AVERAGE = "average"
    MAX = "max"


@dataclass(frozen=True)
class Tier:
    """One archive, as in an RRD: `rows` points of `step` seconds, reused in a ring."""

    step: int
    rows: int

    @property
    def span(self):
        """Seconds of history the ring holds."""
        return self.step * self.rows

    def period_start(self, unix_time):
        return int(unix_time) // self.step * self.step

    def slot(self, unix_time):
        return int(unix_time) // self.step % self.rows


DAY = 86400
TIERS = (
    Tier(step=60, rows=1440),  # a day of minutes
    Tier(step=1800, rows=1488),  # 31 days of half hours
    Tier(step=21600, rows=1464),  # 366 days of six hours
    Tier(step=7 * DAY, rows=522),  # ten years of weeks
)


@dataclass(frozen=True)
class Timeframe:
    seconds: int
    tier: int


TIMEFRAMES = {
    "hour": Timeframe(3600, 0),
    "day": Timeframe(DAY, 0),
    "week": Timeframe(7 * DAY, 1),
    "month": Timeframe(30 * DAY, 1),
    "year": Timeframe(365 * DAY, 2),
    "decade": Timeframe(3650 * DAY, 3),
}
