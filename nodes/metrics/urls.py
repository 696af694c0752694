"""The metrics app's URLs: its panels of the console's pages, and its API endpoints."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from nodes.metrics import api, views

app_name = "metrics"

urlpatterns = [
    path(
        "instances/<str:key>/diagnostics/",
        views.instance_diagnostics,
        name="instance_diagnostics",
    ),
    # DRF authenticates API requests itself and answers 401 in JSON (nodes/api/urls.py).
    path(
        "api/v1/instances/<str:id>/diagnostics/",
        login_not_required(api.InstanceDiagnostics.as_view()),
        name="api_instance_diagnostics",
    ),
]
