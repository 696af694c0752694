"""{% storage_pools node %}: the node page's panel of its storage pools."""

from django import template

register = template.Library()


@register.inclusion_tag("storage/partials/pools.html")
def storage_pools(node):
    pools = list(node.storage_pools.all())
    return {"node": node, "pools": pools, "seen_at": pools[0].seen_at if pools else None}
