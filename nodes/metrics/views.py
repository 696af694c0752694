"""The metrics app's pages: the instance page's Diagnostics panel."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from nodes import operations
from nodes.metrics.diagnostics import request_diagnostics
from nodes.models import Instance

PANEL = "metrics/partials/diagnostics.html"


@require_http_methods(["GET", "POST"])
def instance_diagnostics(request, key):
    """The Diagnostics panel alone (htmx polls it while a read is under way); a POST asks
    for a fresh read and answers the panel (htmx) or the instance page (a plain form)."""
    instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=key)
    refusal = ""
    if request.method == "POST":
        try:
            request_diagnostics(instance)
        except operations.Refused as error:
            refusal = error.message
        if not request.headers.get("HX-Request"):
            if refusal:
                messages.error(request, refusal)
            return redirect(instance)
    return render(request, PANEL, {"object": instance, "refusal": refusal})
