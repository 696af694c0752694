"""The metrics app's pages: the instance page's Diagnostics panel, and /metrics, the
Prometheus scrape, for whoever holds KUMO_METRICS_TOKEN or scrapes from an address in
KUMO_METRICS_ALLOW (by default loopback only): not behind the login, since a Prometheus
server has no session."""

import hmac
import ipaddress

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from nodes import operations
from nodes.metrics import prometheus
from nodes.metrics.diagnostics import request_diagnostics
from nodes.middleware import request_client_ip
from nodes.models import Instance

PANEL = "metrics/partials/diagnostics.html"
REFUSED = (
    "Scraping /metrics takes `Authorization: Bearer <KUMO_METRICS_TOKEN>` or a client "
    "address in KUMO_METRICS_ALLOW.\n"
)


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


@never_cache
@login_not_required
@require_safe
def metrics(request):
    if not (holds_token(request) or allowed_address(request_client_ip(request))):
        response = HttpResponse(REFUSED, status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="kumo-metrics"'
        return response
    return HttpResponse(prometheus.exposition(), content_type=prometheus.CONTENT_TYPE)


def holds_token(request):
    token = settings.KUMO_METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(sent.strip().encode(), token.encode())


def allowed_address(address):
    """Whether the client address is in KUMO_METRICS_ALLOW (an IPv4 client of a dual-stack
    listener arrives as ::ffff:a.b.c.d)."""
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    client = getattr(client, "ipv4_mapped", None) or client
    return any(client in network for network in settings.KUMO_METRICS_ALLOW)
