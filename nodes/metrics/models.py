"""What the collector stores: the latest reading of each instance and node, and their
consolidated history in bounded rings of points (see series.TIERS)."""

from datetime import timedelta

from django.db import models
from django.db.models import F
from django.utils import timezone

from nodes.metrics.series import SERIES, Subject


class Reading(models.Model):
    """The latest sample of one instance or node: the raw counters the next rates are
    computed from (and /metrics serves), and the figures of the last interval."""

    kind = models.CharField(max_length=8, choices=Subject)
    subject_id = models.PositiveBigIntegerField()
    taken_at = models.FloatField(help_text="Unix time of the sample.")
    counters = models.JSONField(default=dict)
    figures = models.JSONField(default=dict, help_text="{series: value or null}")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_id"], name="reading_one_per_subject")
        ]

    def __str__(self):
        return f"{self.kind} {self.subject_id} at {self.taken_at}"


class Point(models.Model):
    """One step of one subject's series in one tier: the average and maximum of the samples
    that fell in it. A tier's slots are reused in a ring, so storage per subject is bounded;
    a slot whose period_start is not the step asked for holds an older period (a gap)."""

    kind = models.CharField(max_length=8, choices=Subject)
    subject_id = models.PositiveBigIntegerField()
    tier = models.PositiveSmallIntegerField()
    slot = models.PositiveIntegerField()
    period_start = models.BigIntegerField(help_text="Unix time the step begins.")
    samples = models.PositiveIntegerField(default=1)
    # Two columns per series of series.SERIES, named <series>_avg and <series>_max.
    for _series in SERIES:
        locals()[f"{_series}_avg"] = models.FloatField(null=True)
        locals()[f"{_series}_max"] = models.FloatField(null=True)
    del _series

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_id", "tier", "slot"], name="point_one_per_slot"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.subject_id} tier {self.tier} at {self.period_start}"


class Diagnostics(models.Model):
    """The last diagnostics a worker read for an instance, as `nova diagnostics` gives them.

    `requested_at` is when a read was last asked for, `taken_at` when the copy in `data` was
    read; `error` says why the last read failed (the copy before it stays)."""

    # A read not back by then never will be: the job's timeout has passed, or no worker runs.
    UNANSWERED_AFTER = timedelta(minutes=2)

    instance = models.OneToOneField(
        "nodes.Instance", on_delete=models.CASCADE, related_name="diagnostics"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "diagnostics"

    def __str__(self):
        return f"diagnostics of {self.instance}"

    def request(self):
        """A fresh read is asked for: the copy stays until it arrives, the last error goes."""
        self.requested_at, self.error = timezone.now(), ""
        self.save(update_fields=["requested_at", "error"])

    def record(self, data, taken_at):
        self.data, self.taken_at, self.error = data, taken_at, ""
        self.save(update_fields=["data", "taken_at", "error"])

    def record_failure(self, error):
        self.error = error
        self.save(update_fields=["error"])

    @property
    def waiting(self):
        """A read was asked for and neither its copy nor its failure is back."""
        asked = self.requested_at is not None and not self.error
        return asked and (self.taken_at is None or self.taken_at < self.requested_at)

    @property
    def unanswered(self):
        return self.waiting and timezone.now() - self.requested_at > self.UNANSWERED_AFTER


class RenderCount(models.Model):
    """How often the domain XML pipeline rendered for one purpose, and how often the chain
    produced no domain: /metrics serves them as counters."""

    LAUNCH = "launch"
    PREVIEW = "preview"

    purpose = models.CharField(max_length=16, unique=True)
    renders = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.purpose}: {self.renders} renders, {self.failures} failed"

    @classmethod
    def record(cls, purpose, ok):
        """Count one render, in the database (F() increments: web and worker processes
        count into the same row without losing one another's)."""
        changes = {"renders": F("renders") + 1, "failures": F("failures") + (0 if ok else 1)}
        if not cls.objects.filter(purpose=purpose).update(**changes):
            cls.objects.get_or_create(purpose=purpose)
            cls.objects.filter(purpose=purpose).update(**changes)
