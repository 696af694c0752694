"""{% storage_pools node %}: the node page's panel of its storage pools;
{% instance_volumes instance %}: the instance page's list of its volumes."""

from django import template

from nodes.storage.models import ATTACHED

register = template.Library()


@register.inclusion_tag("storage/partials/pools.html")
def storage_pools(node):
    pools = list(node.storage_pools.all())
    return {"node": node, "pools": pools, "seen_at": pools[0].seen_at if pools else None}


@register.inclusion_tag("storage/partials/instance_volumes.html")
def instance_volumes(instance):
    attached = instance.volumes.filter(status__in=ATTACHED).order_by("device")
    return {"instance": instance, "volumes": list(attached)}
