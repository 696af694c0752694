"""Django admin for the inventory: the raw view of every row, for admins."""

from django.contrib import admin

from nodes.models import (
    Cluster,
    ConsoleSession,
    Image,
    Instance,
    InstanceType,
    Keypair,
    Node,
    Quota,
)


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "placement_policy", "description"]
    search_fields = ["name"]


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = ["name", "cluster", "uri", "domain_type", "status", "enabled", "last_seen"]
    list_filter = ["status", "domain_type", "enabled", "cluster"]
    search_fields = ["name", "uri", "hostname"]
    readonly_fields = [
        "status",
        "last_seen",
        "last_probed",
        "last_error",
        "hostname",
        "arch",
        "cpus",
        "memory_mb",
        "hypervisor",
        "hypervisor_version",
        "libvirt_version",
        "supported_domain_types",
    ]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["ec2_id", "name", "kind", "format", "is_public", "owner"]
    list_filter = ["kind", "is_public", "format"]
    search_fields = ["ec2_id", "name"]


@admin.register(InstanceType)
class InstanceTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "vcpus", "memory_mb", "disk_gb"]


@admin.register(Keypair)
class KeypairAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "fingerprint", "created_at"]
    search_fields = ["name", "owner__username"]


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ["ec2_id", "name", "owner", "node", "vm_state", "task_state", "power_state"]
    list_filter = ["vm_state", "power_state", "cluster"]
    search_fields = ["ec2_id", "name", "reservation_id"]
    readonly_fields = ["ec2_id"]


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    """The row without a user holds the defaults; a row per user overrides them."""

    list_display = ["__str__", "instances", "vcpus", "ram_mb", "volumes", "volume_gib"]
    search_fields = ["user__username"]


@admin.register(ConsoleSession)
class ConsoleSessionAdmin(admin.ModelAdmin):
    """Who opened which console, from where, and why it ended. Setting "ended at" on an
    open session closes it within a second."""

    list_display = [
        "instance",
        "user",
        "kind",
        "read_only",
        "client",
        "proxy",
        "started_at",
        "ended_at",
    ]
    list_filter = ["kind", "read_only"]
    search_fields = ["instance__ec2_id", "user__username", "client"]
    readonly_fields = ["instance", "user", "kind", "read_only", "client", "proxy", "started_at"]
