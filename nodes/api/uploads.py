"""Image files uploaded over the API (POST /api/v1/images/upload/): written straight into
KUMO_IMAGES_DIR, where the image then keeps its file (a rename, no second copy)."""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from rest_framework.exceptions import ValidationError

from nodes.runners import no_room_in


class ImageFile(TemporaryUploadedFile):
    """An upload in a temporary file of KUMO_IMAGES_DIR (removed unless moved away)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=settings.KUMO_IMAGES_DIR)  # noqa: SIM115
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class ImageFileHandler(TemporaryFileUploadHandler):
    """Every upload to disk (none kept in memory), as an ImageFile."""

    def new_file(self, *args, **kwargs):
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        self.file = ImageFile(self.file_name, self.content_type, 0, self.charset)


def receive(request):
    """The uploaded `file` of request, on disk in KUMO_IMAGES_DIR; a 400 on `file` when it is
    missing or when the console host has no room for the request's length."""
    if problem := no_room_in(
        settings.KUMO_IMAGES_DIR, int(request.META.get("CONTENT_LENGTH") or 0)
    ):
        raise ValidationError({"file": [problem]})
    request._request.upload_handlers = [ImageFileHandler(request._request)]
    if "file" not in request.FILES:
        raise ValidationError({"file": ["Attach the image file as the form field `file`."]})
    return request.FILES["file"]
