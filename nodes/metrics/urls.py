"""The metrics app's URLs: its panels of the console's pages, and its API endpoints (under
/api/v1/, beside the core's). reverse("metrics:instance_metrics", …)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from nodes.metrics import api, views

app_name = "metrics"

# DRF authenticates API requests itself and answers 401 in JSON (nodes/api/urls.py).
urlpatterns = [
    path(
        "instances/<str:key>/diagnostics/",
        views.instance_diagnostics,
        name="instance_diagnostics",
    ),
    path(
        "api/v1/instances/<str:id>/diagnostics/",
        login_not_required(api.InstanceDiagnostics.as_view()),
        name="api_instance_diagnostics",
    ),
    path(
        "api/v1/instances/<str:id>/metrics/",
        login_not_required(api.InstanceMetrics.as_view()),
        name="api_instance_metrics",
    ),
    path(
        "api/v1/nodes/<str:name>/metrics/",
        login_not_required(api.NodeMetrics.as_view()),
        name="api_node_metrics",
    ),
]
