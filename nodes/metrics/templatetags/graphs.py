"""{% graphs object %}: the graphs panel of an instance or node page; {% busiest %}: the
dashboard's busiest instances and nodes; `iec_bytes`: a byte count in binary units."""

import time
from datetime import UTC, datetime

from django import template
from django.conf import settings
from django.urls import reverse

from nodes.metrics import graphs as charts
from nodes.metrics.series import GAP_AFTER_INTERVALS, TIMEFRAMES, Consolidation, Subject
from nodes.models import Instance

register = template.Library()
UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def api_url(subject):
    if isinstance(subject, Instance):
        return reverse("metrics:api_instance_metrics", args=[subject.ec2_id])
    return reverse("metrics:api_node_metrics", args=[subject.name])


@register.inclusion_tag("metrics/partials/graphs.html", takes_context=True)
def graphs(context, subject):
    kind = Subject.INSTANCE if isinstance(subject, Instance) else Subject.NODE
    taken_at = charts.last_sample_time(kind, subject.pk)
    return {
        "request": context["request"],
        "subject": subject,
        "kind": kind,
        "charts": charts.CHARTS[kind],
        "api_url": api_url(subject),
        "interval": settings.KUMO_METRICS_INTERVAL,
        "timeframes": list(TIMEFRAMES),
        "consolidations": Consolidation.choices,
        "why": charts.why_nothing_new(subject, taken_at, time.time()),
        "last_sample": datetime.fromtimestamp(taken_at, UTC) if taken_at else None,
    }


@register.inclusion_tag("metrics/partials/busiest.html", takes_context=True)
def busiest(context):
    user, now = context["request"].user, time.time()
    return {
        "user": user,
        "instances": charts.top_instances(user, now),
        "nodes": charts.busiest_nodes(user, now) if user.is_staff else [],
        "interval": settings.KUMO_METRICS_INTERVAL,
        "window": GAP_AFTER_INTERVALS * settings.KUMO_METRICS_INTERVAL,
    }


@register.filter
def iec_bytes(value):
    """1536 → "1.5 KiB", 2**30 → "1 GiB" (as graphs.js writes them); None stays None."""
    if value is None:
        return None
    value, unit = float(value), 0
    while abs(value) >= 1024 and unit < len(UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{value:.1f}".removesuffix(".0") + f" {UNITS[unit]}"
