"""Recording the pools a probe found, and the room a pool has for what Kumo writes in it."""

from django.db import transaction
from django.utils import timezone

from nodes.storage.models import GIB, StoragePool


@transaction.atomic
def record_pools(node, pools):
    """Replace node's pools by those of a probe ([{name, type, active, path, capacity_bytes,
    allocation_bytes, available_bytes}])."""
    now = timezone.now()
    node.storage_pools.exclude(name__in=[pool["name"] for pool in pools]).delete()
    for pool in pools:
        fields = {key: value for key, value in pool.items() if key != "name"}
        StoragePool.objects.update_or_create(
            node=node, name=pool["name"], defaults=fields | {"seen_at": now}
        )


def lacks_room(pool, needed_bytes):
    """Why pool cannot take needed_bytes more, with the figures, or "" when it can (an
    inactive pool is started by the first copy into it: its room is not known)."""
    if pool.active and pool.available_bytes < needed_bytes:
        return (
            f"its pool {pool.name} has {pool.available_bytes / GIB:.1f} GiB free, "
            f"{needed_bytes / GIB:.1f} GiB are needed"
        )
    return ""
