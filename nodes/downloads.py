"""Importing an image from a URL (operations.import_image): the action's runner streams the
URL into the image's partial file on the console host, with its progress, checks that the
file is the format asked for, and only then makes the image available."""

import http.client
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from nodes.choices import ActionKind, ImageStatus
from nodes.image_files import guest_size
from nodes.models import Image
from nodes.runners import refuse_without_room_here

MIB = 1 << 20
CHUNK = MIB


class DownloadFailed(Exception):
    """The URL could not be read whole, or what it gave is not the image asked for."""


def import_image(run):
    image, url = run.action.image, run.action.params["url"]
    try:
        with run.step(f"Download {url}"):
            size = download(run, url, image)
            run.action.finish_step(f"{size / MIB:.1f} MiB")
        with run.step("Check the file"):
            virtual_size = guest_size(image.partial_location, image.format)
    except BaseException:  # the image may be gone already, and its discarding with it
        Path(image.partial_location).unlink(missing_ok=True)
        raise
    Path(image.partial_location).rename(image.location)
    pending = Image.objects.filter(pk=image.pk, status=ImageStatus.PENDING)
    if not pending.update(
        status=ImageStatus.AVAILABLE, size_bytes=size, virtual_size_bytes=virtual_size
    ):
        Path(image.location).unlink(missing_ok=True)  # deleted meanwhile: keep no file
        raise DownloadFailed(f"{image.ec2_id} was deleted while it was downloaded.")


def download(run, url, image):
    """url's bytes into image's partial file; how many. Refused up front when the console
    host has no room for the length the server announces."""
    # ImageForm lets only http(s) URLs through; urllib redirects only to http(s) or ftp.
    request = urllib.request.Request(url, headers={"User-Agent": "Kumo image import"})  # noqa: S310
    timeout = settings.KUMO_IMAGE_DOWNLOAD_TIMEOUT
    try:
        with urllib.request.urlopen(request, timeout=timeout) as body:  # noqa: S310
            length = body.headers.get("Content-Length", "")
            expected = int(length) if length.isdigit() else 0
            refuse_without_room_here(image, expected)
            received = copy(run, body, image.partial_location, expected)
    except urllib.error.HTTPError as error:
        raise DownloadFailed(f"{url} answered {error.code} {error.reason}.") from error
    except urllib.error.URLError as error:
        raise DownloadFailed(f"Could not download {url}: {error.reason}.") from error
    except (OSError, http.client.HTTPException) as error:  # a timeout, a cut, a full disk
        raise DownloadFailed(f"Downloading {url} stopped: {error}.") from error
    if expected and received != expected:
        raise DownloadFailed(f"{url} ended after {received} of its {expected} bytes.")
    return received


def copy(run, body, path, expected):
    received = 0
    with open(path, "wb") as file:
        while chunk := body.read(CHUNK):
            file.write(chunk)
            received += len(chunk)
            total = f" of {expected / MIB:.1f}" if expected else ""
            run.progress(f"{received / MIB:.1f}{total} MiB")
    return received


RUNNERS = {ActionKind.IMPORT_IMAGE: import_image}
