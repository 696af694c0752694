"""API rate limits (DRF throttles): wrong tokens per address, and requests per user.

The counts are kept in Django's cache, the memory of each web process: under gunicorn's N
workers an address or a user gets up to N times the rate (docs/security.md). The rates are
read from the settings at each request.
"""

from django.conf import settings
from rest_framework import authentication, exceptions, throttling

from nodes.middleware import request_client_ip


class UserRateThrottle(throttling.UserRateThrottle):
    """KUMO_API_RATE requests per user."""

    def get_rate(self):
        return settings.KUMO_API_RATE

    def get_ident(self, request):
        return request_client_ip(request)


class FailedTokenThrottle(throttling.SimpleRateThrottle):
    """KUMO_API_TOKEN_FAILURES wrong tokens per address; only failures count (failed())."""

    scope = "failed_token"

    def get_rate(self):
        return settings.KUMO_API_TOKEN_FAILURES

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request_client_ip(request)}

    def throttle_success(self):
        return True

    def failed(self):
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token …`, except that an address which sent too many wrong
    tokens gets 429 without its token being looked at: guessing stops there."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        throttle = FailedTokenThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(
                throttle.wait(), "Too many wrong API tokens from your address."
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.failed()
            raise
