"""{% graphs object %}: the graphs panel of an instance or node page."""

import time
from datetime import UTC, datetime

from django import template
from django.conf import settings
from django.urls import reverse

from nodes.metrics import graphs as charts
from nodes.metrics.series import TIMEFRAMES, Consolidation, Subject
from nodes.models import Instance

register = template.Library()


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
