"""Image files uploaded over the API (POST /api/v1/images/upload/): written straight into
KUMO_IMAGES_DIR, where the image then keeps its file (a rename, no second copy)."""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework.exceptions import ValidationError

from nodes.runners import no_room_in


class ImageFile(TemporaryUploadedFile):
    """An upload in a temporary file of KUMO_IMAGES_DIR (removed unless moved away)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=settings.KUMO_IMAGES_DIR)  # noqa: SIM115
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class ImageFileHandler(TemporaryFileUploadHandler):
    """Every upload to disk (none kept in memory), as an ImageFile; nothing at all read when
    the console host has no room for the request's length (refusal says why)."""

    refusal = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.refusal = no_room_in(settings.KUMO_IMAGES_DIR, content_length or 0)
        if self.refusal:
            return QueryDict(), MultiValueDict()  # the body unread: no fields, no files
        return None

    def new_file(self, *args, **kwargs):
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        self.file = ImageFile(self.file_name, self.content_type, 0, self.charset)


def accept_uploads(request):
    """Before request's body is read (a session's CSRF check reads it): its files go
    through ImageFileHandler."""
    request._request.upload_handlers = [ImageFileHandler(request._request)]


def received(request):
    """The request's fields and its uploaded `file`; a 400 on `file` when it is missing or
    when the console host has no room for the request."""
    fields, files = request.data, request.FILES
    refusal = request._request.upload_handlers[0].refusal
    if refusal:
        raise ValidationError({"file": [refusal]})
    if "file" not in files:
        raise ValidationError({"file": ["Attach the image file as the form field `file`."]})
    return {name: value for name, value in fields.items() if name != "file"}, files
