"""The console's own middleware: forwarded headers believed only from the reverse proxies in
KUMO_TRUSTED_PROXIES, methods no view serves refused, page form data holding a NUL byte
refused, and the Content-Security-Policy completed with what depends on the request."""

import base64
import hashlib
from contextlib import suppress

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, JsonResponse
from django.utils.html import conditional_escape
from rest_framework.compat import pygments_css
from rest_framework.renderers import BrowsableAPIRenderer

from nodes import consoles

FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST")
SERVED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def trusted_proxy_headers(get_response):
    """Drop X-Forwarded-* unless the request came from a trusted proxy: otherwise anyone
    could claim HTTPS (SECURE_PROXY_SSL_HEADER) by sending the header."""

    def middleware(request):
        if request.META.get("REMOTE_ADDR") not in settings.KUMO_TRUSTED_PROXIES:
            for header in FORWARDED:
                request.META.pop(header, None)
        return get_response(request)

    return middleware


def client_ip(peer, forwarded=""):
    """The client's address: the TCP peer, or when the peer is a trusted proxy the address
    it appended to X-Forwarded-For (the entries before it are the client's own say)."""
    if forwarded and peer in settings.KUMO_TRUSTED_PROXIES:
        return forwarded.split(",")[-1].strip()
    return peer


def request_client_ip(request):
    """client_ip of a Django request (what rate limits count by)."""
    return client_ip(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def refuse_unserved_methods(get_response):
    """405 for TRACE, CONNECT, TRACK and every other method outside SERVED_METHODS, on every
    path: function views that do not look at the method would answer them like a GET."""

    def middleware(request):
        if request.method in SERVED_METHODS:
            return get_response(request)
        message = f'Method "{request.method}" not allowed.'
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=405)
            response["Allow"] = ", ".join(SERVED_METHODS)
            return response
        return HttpResponseNotAllowed(SERVED_METHODS, message, content_type="text/plain")

    return middleware


class RefuseNulInFormData:
    """400 for a page request whose query or form fields hold a NUL byte: no name or id
    holds one, and PostgreSQL refuses it in the query a form's choice is looked up with.
    (The API's fields refuse it each: nodes.api.serializers.ByName, DRF's CharField.) The
    body of a view that sets_its_upload_handlers is left for it to read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        if request.path_info.startswith("/api/") or getattr(view, "sets_upload_handlers", False):
            return None
        if holds_nul(request):
            message = "A form field holds a NUL byte (\\x00): no name or id does."
            return HttpResponseBadRequest(message, content_type="text/plain")
        return None


def sets_its_upload_handlers(view):
    """Mark a view that sets its upload handlers before its body is read (an image upload,
    written straight to disk): RefuseNulInFormData leaves the body unread, and the view's
    form refuses a NUL in its own fields."""
    view.sets_upload_handlers = True
    return view


def holds_nul(request):
    fields = (request.GET, request.POST) if request.method == "POST" else (request.GET,)
    return any("\x00" in value for data in fields for _, values in data.lists() for value in values)


# For the pages whose widgets write style attributes: the serial console (xterm.js colours
# selected and 24-bit-colour cells with them) and the rule editor (Chromium's own editing
# adds them when typing over a selection of several lines; CodeMirror redraws those lines).
allow_style_attributes = csp_update({"style-src-attr": [UNSAFE_INLINE]})


def browsable_api_styles(renderer):
    """What DRF's browsable API pages need: their templates carry style attributes and a
    <style> of Pygments' CSS (allowed by its hash: the text as the template escapes it)."""
    allowed = {"style-src-attr": [UNSAFE_INLINE]}
    css = pygments_css(renderer.code_style)
    if css:
        digest = hashlib.sha256(str(conditional_escape(css)).encode()).digest()
        allowed["style-src"] = [f"'sha256-{base64.b64encode(digest).decode()}'"]
    return allowed


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's header from CONTENT_SECURITY_POLICY, plus: the console proxy's websocket
    URL in connect-src (by default it is on the host the page was asked for), and the styles
    of DRF's browsable API pages."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        update = {key: list(sources) for key, sources in (parts.update or {}).items()}
        with suppress(DisallowedHost):  # the 400 that says so needs no console
            update.setdefault("connect-src", []).append(consoles.ws_base(request))
        renderer = getattr(response, "accepted_renderer", None)
        if isinstance(renderer, BrowsableAPIRenderer):
            for directive, sources in browsable_api_styles(renderer).items():
                update.setdefault(directive, []).extend(sources)
        parts.update = update
        return parts
