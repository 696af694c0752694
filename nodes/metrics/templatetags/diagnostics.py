"""Template helpers of the Diagnostics panel: the copy to show, and its units for people."""

from datetime import UTC, datetime

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils.dateparse import parse_datetime

from nodes.metrics.diagnostics import last_copy

register = template.Library()
UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
COUNTS = {"major_fault", "minor_fault", "hugetlb_pgalloc", "hugetlb_pgfail"}


@register.simple_tag
def diagnostics_of(instance):
    return last_copy(instance)


@register.filter
def kib(value):
    """A size in KiB, as filesizeformat writes sizes; — when unknown."""
    return "—" if value is None else filesizeformat(value * 1024)


@register.filter
def bytes_or_dash(value):
    return "—" if value is None else filesizeformat(value)


@register.filter
def cpu_seconds(nanoseconds):
    return "—" if nanoseconds is None else f"{nanoseconds / 1e9:,.1f} s"


@register.filter
def duration(seconds):
    """Seconds in its largest unit and the next: "3 d 4 h", "12 min 5 s", "40 s"."""
    if seconds is None:
        return "unknown"
    for (unit, size), (smaller, smaller_size) in zip(UNITS, UNITS[1:], strict=False):
        if seconds >= size:
            return f"{seconds // size} {unit} {seconds % size // smaller_size} {smaller}"
    return f"{seconds} s"


@register.filter
def balloon_figure(value, key):
    """A memoryStats figure: counts for the fault counters, Unix time for last_update, KiB
    for the others."""
    if key in COUNTS:
        return f"{value:,}"
    if key == "last_update":
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return kib(value)


@register.filter
def as_datetime(text):
    return parse_datetime(text) if text else None
