"""How the API answers errors: in JSON, also where Django answers before DRF (bodies too big,
URLs no API view matches)."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, views


def exception_handler(error, context):
    """DRF's handler, with Django's refusals of oversized bodies answered in JSON too (Django
    would answer its HTML 400 page)."""
    if isinstance(error, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        error = exceptions.ParseError(f"The request body is over the limit of {limit} bytes.")
    elif isinstance(error, (TooManyFieldsSent, TooManyFilesSent)):
        error = exceptions.ParseError(str(error))
    return views.exception_handler(error, context)


def not_found(request, exception):
    """Django's 404 handler: for a path under /api/ that no API URL matches, JSON like the
    API's own 404s; elsewhere Django's page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
