"""The storage app's pages, and its API endpoints under /api/v1/ beside the core's."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from nodes.storage import api, views

app_name = "storage"

urlpatterns = [
    path("volumes/", views.VolumeList.as_view(), name="volume_list"),
    path("volumes/new/", views.volume_create, name="volume_create"),
    path("volumes/<str:key>/", views.VolumeDetail.as_view(), name="volume_detail"),
    path("volumes/<str:key>/live/", views.VolumeLive.as_view(), name="volume_live"),
    path("volumes/<str:key>/attach/", views.volume_attach, name="volume_attach"),
    path("volumes/<str:key>/detach/", views.volume_detach, name="volume_detach"),
    path("volumes/<str:key>/delete/", views.volume_delete, name="volume_delete"),
    path("volumes/<str:key>/image/", views.volume_image, name="volume_image"),
    path("volumes/<str:key>/snapshot/", views.volume_snapshot, name="volume_snapshot"),
    path("volume-snapshots/<str:key>/", views.SnapshotDetail.as_view(), name="snapshot_detail"),
    path("volume-snapshots/<str:key>/live/", views.SnapshotLive.as_view(), name="snapshot_live"),
    path("volume-snapshots/<str:key>/volume/", views.snapshot_new_volume, name="snapshot_volume"),
    path("volume-snapshots/<str:key>/image/", views.snapshot_image, name="snapshot_image"),
    path("volume-snapshots/<str:key>/delete/", views.snapshot_delete, name="snapshot_delete"),
    path("install-image/", views.install_image, name="install_image"),
    # DRF authenticates API requests itself and answers 401 in JSON (nodes/api/urls.py).
    path(
        "api/v1/nodes/<str:name>/pools/",
        login_not_required(api.NodePools.as_view()),
        name="api_node_pools",
    ),
]
