"""Template helpers for the generic inventory pages."""

from django import template
from django.db.models import Manager

register = template.Library()

BADGES = {
    "up": "success",
    "active": "success",
    "running": "success",
    "down": "danger",
    "error": "danger",
    "crashed": "danger",
    "unknown": "secondary",
    "stopped": "secondary",
    "shutoff": "secondary",
    "deleted": "dark",
    "paused": "warning",
    "suspended": "warning",
    "succeeded": "success",
    "failed": "danger",
    "queued": "secondary",
}


@register.filter
def resolve(obj, path):
    """Follow a dotted path ("image.ec2_id", "get_kind_display") as Django's templates do:
    a method that changes data (`alters_data`, like save or delete) is never called."""
    value = obj
    for part in path.split("."):
        if value is None:
            return None
        value = value[int(part)] if part.isdigit() else getattr(value, part)
        if isinstance(value, Manager):
            value = value.all()
        elif callable(value):
            if getattr(value, "alters_data", False) or getattr(
                value, "do_not_call_in_templates", False
            ):
                return None
            value = value()
    return value


@register.filter
def badge(value):
    """The Bootstrap colour for a state word; unknown words are shown in blue (in progress)."""
    return BADGES.get(str(value).lower(), "info")


@register.simple_tag(takes_context=True)
def page_url(context, number):
    querystring = context.get("querystring", "")
    return f"?{querystring}&page={number}" if querystring else f"?page={number}"
