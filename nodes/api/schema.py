"""The OpenAPI schema: drf-spectacular's, with the error responses each operation answers.

Every operation documents 401 (no credentials); 400 when it takes a body or is a paginated
list (a bad cursor or limit, an unknown filter); 403 when it is for admins or changes
something (CSRF for sessions, admin-only actions); 404 when its path names an object; 429
when throttled.
Operations add what only they answer (409, 503, a 400 for query parameters) with errors().
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


class BadRequestSerializer(serializers.Serializer):
    """A refused request: field name → its messages (some hold a nested object), or
    `non_field_errors` for the whole body, or `detail` when the body could not be read
    (not JSON, nested too deep, over the size limit)."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


RESPONSES = {
    400: OpenApiResponse(BadRequestSerializer, "The request is refused; the body says why."),
    401: OpenApiResponse(ErrorSerializer, "No credentials, or wrong ones."),
    403: OpenApiResponse(ErrorSerializer, "Not yours to do (or a session without CSRF token)."),
    404: OpenApiResponse(ErrorSerializer, "No such object among those you may see."),
    409: OpenApiResponse(ErrorSerializer, "Not allowed in the object's current state."),
    429: OpenApiResponse(ErrorSerializer, "Too many requests: wait as Retry-After says."),
    503: OpenApiResponse(ErrorSerializer, "The job queue (Redis) is unreachable."),
}


def errors(*codes):
    """The error responses of codes, for `@extend_schema(responses={…, **errors(409)})`."""
    return {code: RESPONSES[code] for code in codes}


class ErrorsAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        for code in self.common_errors():
            if str(code) not in bodies:
                bodies[str(code)] = self._get_response_for_code(RESPONSES[code], str(code))
        return bodies

    def common_errors(self):
        """The error codes this operation answers whatever it does."""
        codes = {401}
        changes = self.method not in permissions.SAFE_METHODS
        admins_only = any(
            issubclass(permission, permissions.IsAdminUser)
            for permission in self.view.permission_classes
        )
        paginated = self._is_list_view() and self._get_paginator()
        if paginated or (
            self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        ):
            codes.add(400)
        if changes or admins_only:
            codes.add(403)
        if "{" in self.path:
            codes.add(404)
        if self.view.throttle_classes:
            codes.add(429)
        return codes
