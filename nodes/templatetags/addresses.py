"""Template helpers for instances' addresses."""

from django import template

from nodes.models.addresses import why_no_addresses

register = template.Library()


@register.filter
def no_addresses_reason(instance):
    """Why the instance shows no address (nodes/models/addresses.py)."""
    return why_no_addresses(instance)
