"""Console page URLs, one block per noun."""

from django.urls import path

from nodes.views import (
    account,
    consoles,
    dashboard,
    health,
    images,
    instances,
    inventory,
    rules,
    users,
)

app_name = "kumo"  # {% url "kumo:instance_detail" %}: the pages' names

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("account/", account.account, name="account"),
    path("account/token/", account.account_token, name="account_token"),
    path("account/token/delete/", account.account_token_delete, name="account_token_delete"),
    path("clusters/", inventory.ClusterList.as_view(), name="cluster_list"),
    path("clusters/new/", inventory.ClusterCreate.as_view(), name="cluster_create"),
    path("clusters/<str:key>/", inventory.ClusterDetail.as_view(), name="cluster_detail"),
    path("clusters/<str:key>/edit/", inventory.ClusterEdit.as_view(), name="cluster_edit"),
    path("nodes/", inventory.NodeList.as_view(), name="node_list"),
    path("nodes/new/", inventory.NodeCreate.as_view(), name="node_create"),
    path("nodes/<str:key>/", inventory.NodeDetail.as_view(), name="node_detail"),
    path("nodes/<str:key>/edit/", inventory.NodeEdit.as_view(), name="node_edit"),
    path("nodes/<str:key>/probe/", inventory.NodeProbe.as_view(), name="node_probe"),
    path("nodes/<str:key>/check/", inventory.node_check, name="node_check"),
    path("nodes/<str:key>/drain/", inventory.node_drain, name="node_drain"),
    path("nodes/<str:key>/undrain/", inventory.node_undrain, name="node_undrain"),
    path("nodes/<str:key>/unmanaged/<int:pk>/adopt/", inventory.node_adopt, name="node_adopt"),
    path("nodes/<str:key>/unmanaged/<int:pk>/ignore/", inventory.node_ignore, name="node_ignore"),
    path("images/", images.ImageList.as_view(), name="image_list"),
    path("images/new/", images.ImageCreate.as_view(), name="image_create"),
    path("images/upload/", images.image_upload, name="image_upload"),
    path("images/<str:key>/", images.ImageDetail.as_view(), name="image_detail"),
    path("images/<str:key>/edit/", images.ImageEdit.as_view(), name="image_edit"),
    path("instance-types/", images.InstanceTypeList.as_view(), name="instancetype_list"),
    path("instance-types/new/", images.InstanceTypeCreate.as_view(), name="instancetype_create"),
    path(
        "instance-types/<str:key>/", images.InstanceTypeDetail.as_view(), name="instancetype_detail"
    ),
    path(
        "instance-types/<str:key>/edit/",
        images.InstanceTypeEdit.as_view(),
        name="instancetype_edit",
    ),
    path("keypairs/", instances.KeypairList.as_view(), name="keypair_list"),
    path("keypairs/new/", instances.keypair_create, name="keypair_create"),
    path("keypairs/<int:key>/", instances.KeypairDetail.as_view(), name="keypair_detail"),
    path("keypairs/<int:key>/delete/", instances.keypair_delete, name="keypair_delete"),
    path("instances/", instances.InstanceList.as_view(), name="instance_list"),
    path("instances/new/", instances.instance_launch, name="instance_launch"),
    path(
        "instances/<str:key>/actions/<slug:kind>/",
        instances.instance_action,
        name="instance_action",
    ),
    path(
        "instances/<str:key>/snapshots/<int:snapshot>/<slug:kind>/",
        instances.instance_action,
        name="snapshot_action",
    ),
    path(
        "instances/<str:key>/console/",
        consoles.instance_console,
        {"kind": "vnc"},
        name="instance_console",
    ),
    path(
        "instances/<str:key>/serial/",
        consoles.serial_console,
        {"kind": "serial"},
        name="instance_serial",
    ),
    path(
        "instances/<str:key>/console-output/",
        consoles.instance_console_output,
        name="instance_console_output",
    ),
    path("actions/", instances.ActionList.as_view(), name="action_list"),
    path("actions/<int:key>/", instances.ActionDetail.as_view(), name="action_detail"),
    path("actions/<int:key>/live/", instances.ActionLive.as_view(), name="action_live"),
    path("instances/<str:key>/live/", instances.InstanceLive.as_view(), name="instance_live"),
    path("instances/<str:key>/image/", instances.instance_image, name="instance_image"),
    path("instances/<str:key>/tune/", instances.instance_tune, name="instance_tune"),
    path("instances/<str:key>/resize/", instances.instance_resize, name="instance_resize"),
    path("instances/<str:key>/migrate/", instances.instance_migrate, name="instance_migrate"),
    path(
        "instances/<str:key>/abort-migration/",
        instances.instance_abort_migration,
        name="instance_abort_migration",
    ),
    path("instances/<str:key>/", instances.InstanceDetail.as_view(), name="instance_detail"),
    path("users/", users.UserList.as_view(), name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<str:key>/", users.UserDetail.as_view(), name="user_detail"),
    path("users/<str:key>/edit/", users.UserEdit.as_view(), name="user_edit"),
    path(
        "users/<str:key>/deactivate/",
        users.user_set_active,
        {"active": False},
        name="user_deactivate",
    ),
    path(
        "users/<str:key>/activate/", users.user_set_active, {"active": True}, name="user_activate"
    ),
    path("users/<str:key>/quota/", users.user_quota, name="user_quota"),
    path("quotas/", users.quota_defaults, name="quota_defaults"),
    path("rules/", rules.rule_list, name="rule_list"),
    path("rules/new/", rules.rule_edit, name="rule_create"),
    path(
        "rules/library/<slug:slug>/enable/", rules.rule_enable_library, name="rule_enable_library"
    ),
    path("rules/<int:pk>/", rules.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/enable/", rules.rule_enable, {"enabled": True}, name="rule_enable"),
    path("rules/<int:pk>/disable/", rules.rule_enable, {"enabled": False}, name="rule_disable"),
    path("rules/<int:pk>/delete/", rules.rule_delete, name="rule_delete"),
    path("rules/<int:pk>/reset/", rules.rule_reset, name="rule_reset"),
    path("rules/<int:pk>/history/", rules.rule_history, name="rule_history"),
    path("rules/<int:pk>/rollback/<int:number>/", rules.rule_rollback, name="rule_rollback"),
]
