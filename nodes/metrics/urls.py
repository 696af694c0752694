"""The metrics app's URLs, under /api/v1/ (reverse("metrics:instance-metrics", …))."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from nodes.metrics import api

app_name = "metrics"
urlpatterns = [
    path(
        "instances/<str:id>/metrics/",
        login_not_required(api.InstanceMetrics.as_view()),
        name="instance-metrics",
    ),
    path(
        "nodes/<str:name>/metrics/",
        login_not_required(api.NodeMetrics.as_view()),
        name="node-metrics",
    ),
]
