"""Image files uploaded from the New image page's upload form and the API: written to disk
straight into KUMO_IMAGES_DIR (never held in memory), where the image then keeps its file (a
rename, no second copy). Set the handler before the body is read: the CSRF check reads it.
"""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from nodes.image_files import no_room_in


class ImageFile(TemporaryUploadedFile):
    """An upload in a temporary file of KUMO_IMAGES_DIR (removed unless moved away)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=settings.KUMO_IMAGES_DIR)  # noqa: SIM115
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class ImageFileHandler(TemporaryFileUploadHandler):
    """Every upload to disk (none kept in memory), as an ImageFile; nothing at all read for
    someone not an admin, or when the console host has no room for the request's length
    (refusal says why)."""

    refusal = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        user = getattr(self.request, "user", None)
        if not (user and user.is_staff):  # a session's CSRF check reads before the 403
            self.refusal = "Only admins can change the cloud's inventory."
        else:
            self.refusal = no_room_in(settings.KUMO_IMAGES_DIR, content_length or 0)
        if self.refusal:
            return QueryDict(), MultiValueDict()  # the body unread: no fields, no files
        return None

    def new_file(self, *args, **kwargs):
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        self.file = ImageFile(self.file_name, self.content_type, 0, self.charset)


def refusal(request):
    """Why request's upload was not read (no room), or None."""
    return getattr(request.upload_handlers[0], "refusal", None)


def read(request):
    """Read request's body now, through ImageFileHandler: why it was refused, or None."""
    request.upload_handlers = [ImageFileHandler(request)]
    request.FILES  # noqa: B018 (reading it parses the body)
    return refusal(request)
