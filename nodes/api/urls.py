"""API URLs: /api/v1/… and the OpenAPI schema at /api/schema/."""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from nodes.api import instances, keypairs, quotas, rules, unmanaged, users, views
from nodes.storage import api as storage

app_name = "api"  # reverse("api:instance-list"): the API's names never meet the pages
router = DefaultRouter()
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("nodes", views.NodeViewSet, basename="node")
router.register("images", views.ImageViewSet, basename="image")
router.register("instance-types", views.InstanceTypeViewSet, basename="instancetype")
router.register("keypairs", keypairs.KeypairViewSet, basename="keypair")
router.register("instances", instances.InstanceViewSet, basename="instance")
router.register("actions", instances.ActionViewSet, basename="action")
router.register("rules", rules.RuleViewSet, basename="rule")
router.register("users", users.UserViewSet, basename="user")
router.register("volumes", storage.VolumeViewSet, basename="volume")
router.register("volume-snapshots", storage.VolumeSnapshotViewSet, basename="volumesnapshot")

# DRF authenticates API requests itself (tokens as well as sessions) and answers 401/403 in
# JSON, so Django's login redirect must stay off these URLs.
for pattern in router.urls:
    pattern.callback = login_not_required(pattern.callback)


def unmanaged_path(suffix, methods, name):
    """A node's unmanaged domains, under the node: no router nests them."""
    view = login_not_required(unmanaged.UnmanagedViewSet.as_view(methods))
    return path(f"v1/nodes/<str:name>/unmanaged/{suffix}", view, name=name)


urlpatterns = [
    unmanaged_path("", {"get": "list"}, "unmanaged_list"),
    unmanaged_path("<int:pk>/", {"get": "retrieve"}, "unmanaged_detail"),
    unmanaged_path("<int:pk>/adopt/", {"post": "adopt"}, "unmanaged_adopt"),
    unmanaged_path("<int:pk>/ignore/", {"post": "ignore"}, "unmanaged_ignore"),
    path("v1/quota/", login_not_required(quotas.MyQuota.as_view()), name="my_quota"),
    path(
        "v1/quota-defaults/",
        login_not_required(quotas.DefaultQuota.as_view()),
        name="quota_defaults_api",
    ),
    path(
        "v1/quotas/<str:username>/",
        login_not_required(quotas.UserQuota.as_view()),
        name="user_quota",
    ),
    path("v1/", include(router.urls)),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
]
