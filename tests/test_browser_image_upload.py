"""The Upload an image page in a real browser: the file goes up with its progress shown, and
the browser lands on the new image's page; a refused file leaves the form with its error."""

import pytest

from nodes.models import Image
from tests.browser import log_in
from tests.test_image_imports import qcow2

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_uploads_an_image_from_the_browser(
    page, live_server, django_user_model, settings, tmp_path
):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    django_user_model.objects.create_user("boss", password="upload-it-9", is_staff=True)
    log_in(page, live_server, "boss", "upload-it-9")
    page.goto(f"{live_server.url}/images/new/")
    page.click("text=upload an image")

    raw = tmp_path / "disk.img"
    raw.write_bytes(bytes(65536))
    page.fill("#id_name", "uploaded")
    page.set_input_files("#id_file", str(raw))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("text=The file is raw, not qcow2.")  # the form again, with it
    assert not Image.objects.exists()

    page.fill("#id_name", "uploaded")
    page.set_input_files("#id_file", str(qcow2(tmp_path / "disk.qcow2")))
    page.click("button:has-text('Upload')")
    page.wait_for_url(f"{live_server.url}/images/emi-*/")
    image = Image.objects.get(name="uploaded")
    assert page.url == f"{live_server.url}{image.get_absolute_url()}"
    assert image.status == "available"
