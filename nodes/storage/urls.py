"""The storage app's API endpoints, under /api/v1/ beside the core's."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from nodes.storage import api

app_name = "storage"

# DRF authenticates API requests itself and answers 401 in JSON (nodes/api/urls.py).
urlpatterns = [
    path(
        "api/v1/nodes/<str:name>/pools/",
        login_not_required(api.NodePools.as_view()),
        name="api_node_pools",
    ),
]
