"""Forwarded headers are believed only from the reverse proxies in KUMO_TRUSTED_PROXIES."""

from django.conf import settings

FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST")


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
