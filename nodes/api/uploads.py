"""Image uploads over the API (POST /api/v1/images/upload/), through nodes.uploads."""

from rest_framework.exceptions import ValidationError

from nodes.uploads import ImageFileHandler, refusal


def accept_uploads(request):
    """Before request's body is read (a session's CSRF check reads it): its files go
    through ImageFileHandler."""
    request._request.upload_handlers = [ImageFileHandler(request._request)]


def received(request):
    """The request's fields and its uploaded `file`; a 400 on `file` when it is missing or
    when the console host has no room for the request."""
    fields, files = request.data, request.FILES
    if why := refusal(request._request):
        raise ValidationError({"file": [why]})
    if "file" not in files:
        raise ValidationError({"file": ["Attach the image file as the form field `file`."]})
    return {name: value for name, value in fields.items() if name != "file"}, files
