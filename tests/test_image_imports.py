"""Images imported from a URL (the pending image, the download action and its checks, from a
web server of the test's own on loopback) and uploaded over the API."""

import shutil
import socket
import subprocess
import threading
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from nodes.choices import ActionKind, ActionStatus, ImageStatus
from nodes.models import Action, Image
from nodes.watcher import recover_stale_actions

pytestmark = pytest.mark.django_db(transaction=True)
REGISTER = "/api/v1/images/register/"


class Files(SimpleHTTPRequestHandler):
    """The served folder's files, and /cut: a body that stops short of its length."""

    def do_GET(self):
        if self.path != "/cut":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 10)
        self.close_connection = True
        return None

    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """(folder, base URL): the folder's files over HTTP on 127.0.0.1."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Files, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin_api(api, admin, queue, settings, tmp_path):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    api.force_authenticate(admin)
    return api


def qcow2(path, size="1G", backing=None):
    chain = ["-b", str(backing), "-F", "qcow2"] if backing else []
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *chain, str(path), size], check=True)
    return path


def imported(admin_api, run_jobs, url, **fields):
    """Import url as image "web" and run its action: (the API's answer, the action)."""
    body = {"kind": "machine", "name": "web", "format": "qcow2", "location": url, **fields}
    answer = admin_api.post(REGISTER, body, format="json")
    assert answer.status_code == 202, answer.json()
    run_jobs()
    return answer.json(), Action.objects.get(pk=answer.json()["action"]["id"])


def test_an_image_imported_from_a_url_is_pending_until_downloaded_and_checked(
    admin_api, run_jobs, served, settings
):
    folder, base = served
    qcow2(folder / "disk.qcow2")
    answer, action = imported(admin_api, run_jobs, f"{base}/disk.qcow2", is_public=True)
    assert answer["image"]["status"] == ImageStatus.PENDING
    assert answer["action"]["action"] == ActionKind.IMPORT_IMAGE
    assert action.status == ActionStatus.SUCCEEDED, action.error
    image = Image.objects.get(ec2_id=answer["image"]["id"])
    assert (image.status, image.is_public) == (ImageStatus.AVAILABLE, True)
    assert image.location == str(settings.KUMO_IMAGES_DIR / f"{image.ec2_id}.qcow2")
    assert image.size_bytes == (folder / "disk.qcow2").stat().st_size
    assert image.virtual_size_bytes == 1 << 30
    assert [step["name"] for step in action.steps] == [
        f"Download {base}/disk.qcow2",
        "Check the file",
    ]
    assert action.steps[0]["detail"].endswith(" MiB")
    listed = admin_api.get(f"/api/v1/actions/?image={image.ec2_id}").json()["results"]
    assert [a["id"] for a in listed] == [action.pk]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/missing.qcow2", "answered 404 File not found."),
        ("/cut", "/cut ended after 10 of its 1000 bytes."),
        ("/raw.img", "The file is raw, not qcow2."),
        ("/overlay.qcow2", "The qcow2 file has a backing file"),
    ],
)
def test_a_download_that_fails_or_is_not_the_image_leaves_no_image(
    admin_api, run_jobs, served, settings, path, error
):
    folder, base = served
    (folder / "raw.img").write_bytes(bytes(4096))
    qcow2(folder / "overlay.qcow2", backing=qcow2(folder / "base.qcow2"))
    _, action = imported(admin_api, run_jobs, f"{base}{path}")
    assert action.status == ActionStatus.FAILED and error in action.error
    assert not Image.objects.filter(name="web").exists()
    assert list(settings.KUMO_IMAGES_DIR.glob("*")) == []  # nor its partial file
    assert admin_api.get(f"/api/v1/actions/{action.pk}/").status_code == 200


@pytest.fixture
def closed_port():
    """A port of 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_refuses_the_connection_fails_the_import(admin_api, run_jobs, closed_port):
    url = f"http://127.0.0.1:{closed_port}/disk.qcow2"
    _, action = imported(admin_api, run_jobs, url)
    assert action.status == ActionStatus.FAILED
    assert action.error == f"Could not download {url}: [Errno 111] Connection refused."


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://", "Enter a whole http(s) URL."),
        ("ftp://example.org/disk.qcow2", "Give the absolute path of the image file."),
        ("file:///etc/passwd", "Give the absolute path of the image file."),
    ],
)
def test_only_whole_http_urls_are_imported(admin_api, location, error):
    body = {"kind": "machine", "name": "web", "format": "qcow2", "location": location}
    answer = admin_api.post(REGISTER, body, format="json")
    assert answer.status_code == 400 and answer.json()["location"] == [error]
    assert not Image.objects.filter(name="web").exists()


def test_a_registered_image_is_not_imported_again(admin_api, tmp_path):
    disk = qcow2(tmp_path / "disk.qcow2")
    body = {"kind": "machine", "name": "d", "format": "qcow2", "location": str(disk)}
    image = admin_api.post(REGISTER, body, format="json").json()
    answer = admin_api.patch(
        f"/api/v1/images/{image['id']}/", {"location": "http://127.0.0.1/x"}, format="json"
    )
    assert answer.json()["location"] == [
        "An image is imported once, when it is registered: give the path of its file."
    ]


def test_an_import_without_the_job_queue_is_refused_before_anything_is_written(admin_api, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    body = {"kind": "machine", "name": "web", "format": "qcow2", "location": "http://x.test/d"}
    answer = admin_api.post(REGISTER, body, format="json")
    assert answer.status_code == 400
    assert "The job queue (Redis) is not reachable" in answer.json()["location"][0]
    assert not Image.objects.filter(name="web").exists()


def test_the_new_image_page_imports_a_url_and_shows_its_action(
    admin_client, queue, run_jobs, served, settings, tmp_path
):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    folder, base = served
    qcow2(folder / "disk.qcow2")
    form = {
        "kind": "machine",
        "name": "web",
        "format": "qcow2",
        "location": f"{base}/disk.qcow2",
        "arch": "x86_64",
        "vm_mode": "hvm",
        "platform": "linux",
    }
    answer = admin_client.post("/images/new/", form)
    assert answer.status_code == 302, answer.context["form"].errors
    action = Action.objects.get(kind=ActionKind.IMPORT_IMAGE)
    assert answer.status_code == 302 and answer.url == f"/actions/{action.pk}/"
    run_jobs()
    page = admin_client.get(answer.url)
    assert page.status_code == 200 and action.image.ec2_id in page.content.decode()
    assert admin_client.get("/actions/").status_code == 200


def test_an_import_whose_job_was_lost_is_discarded_by_the_watcher(admin_api, queue):
    body = {"kind": "kernel", "name": "k", "format": "raw", "location": "http://x.test/vmlinuz"}
    answer = admin_api.post(REGISTER, body, format="json").json()
    queue.empty()  # as if Redis had lost the job a while ago
    action = Action.objects.filter(pk=answer["action"]["id"])
    action.update(created_at=timezone.now() - timedelta(hours=1))
    recover_stale_actions()
    assert action.get().status == ActionStatus.FAILED
    assert not Image.objects.filter(ec2_id=answer["image"]["id"]).exists()
    assert answer["image"]["id"].startswith("eki-")


UPLOAD = "/api/v1/images/upload/"


def uploaded(admin_api, path, **fields):
    body = {"kind": "machine", "name": "up", "format": "qcow2", **fields}
    with open(path, "rb") as file:
        return admin_api.post(UPLOAD, {**body, "file": file}, format="multipart")


def test_an_uploaded_image_file_is_checked_and_kept_under_its_id(admin_api, settings, tmp_path):
    disk = qcow2(tmp_path / "disk.qcow2")
    answer = uploaded(admin_api, disk, is_public="true")
    assert answer.status_code == 201, answer.json()
    image = Image.objects.get(ec2_id=answer.json()["id"])
    assert (image.status, image.is_public) == (ImageStatus.AVAILABLE, True)
    assert image.location == str(settings.KUMO_IMAGES_DIR / f"{image.ec2_id}.qcow2")
    assert image.size_bytes == disk.stat().st_size and image.virtual_size_bytes == 1 << 30
    assert Path(image.location).read_bytes() == disk.read_bytes()
    assert [p.name for p in settings.KUMO_IMAGES_DIR.iterdir()] == [f"{image.ec2_id}.qcow2"]


def qcow2_with_a_data_file(folder):
    disk = folder / "split.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-o", f"data_file={folder / 'data.raw'}"]
        + [str(disk), "1M"],
        check=True,
    )
    return disk


def junk_with_the_qcow2_magic(folder):
    disk = folder / "junk.qcow2"
    disk.write_bytes(b"QFI\xfb" + (99).to_bytes(4, "big") + bytes(504))  # "version 99"
    return disk


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, "The file is raw, not qcow2."),
        ({"name": "", "format": "raw"}, None),
        ({"disk": qcow2_with_a_data_file}, "The qcow2 file keeps its data in another file ("),
        ({"disk": junk_with_the_qcow2_magic}, "qemu-img cannot read the file: "),
    ],
)
def test_an_upload_the_form_refuses_leaves_nothing(admin_api, settings, tmp_path, fields, error):
    raw = tmp_path / "disk.img"
    raw.write_bytes(bytes(65536))
    disk = fields.pop("disk", lambda folder: raw)(tmp_path)
    answer = uploaded(admin_api, disk, **fields)
    assert answer.status_code == 400
    if error is None:
        assert answer.json() == {"name": ["This field is required."]}
    else:
        assert list(answer.json()) == ["file"] and answer.json()["file"][0].startswith(error)
    assert not Image.objects.exists()
    assert list(settings.KUMO_IMAGES_DIR.iterdir()) == []


def test_an_upload_without_a_file_or_room_is_refused(admin_api, monkeypatch, tmp_path):
    answer = admin_api.post(UPLOAD, {"kind": "machine", "name": "up"}, format="multipart")
    assert answer.json() == {"file": ["Attach the image file as the form field `file`."]}
    full = shutil.disk_usage(tmp_path)._replace(free=0)  # a full disk, not made for real
    monkeypatch.setattr("nodes.image_files.shutil.disk_usage", lambda folder: full)
    answer = uploaded(admin_api, qcow2(tmp_path / "disk.qcow2"))
    assert answer.status_code == 400
    assert answer.json()["file"][0].startswith("The console host has 0.0 GiB free in ")


def uploaded_by_a_session(user, path):
    """The API's upload of path from user's browser session, CSRF checked as for a browser."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/instances/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    with open(path, "rb") as file:
        body = {"kind": "machine", "name": "up", "format": "qcow2", "file": file}
        return browser.post(UPLOAD, body, format="multipart", HTTP_X_CSRFTOKEN=token)


def test_a_session_uploads_with_its_csrf_token(admin, settings, tmp_path):
    """A session's CSRF check reads the body before the view: the upload still goes to disk."""
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    disk = qcow2(tmp_path / "disk.qcow2")
    answer = uploaded_by_a_session(admin, disk)
    assert answer.status_code == 201, answer.json()
    assert Path(Image.objects.get(name="up").location).read_bytes() == disk.read_bytes()


PAGE_FIELDS = {"kind": "machine", "format": "qcow2", "arch": "x86_64", "vm_mode": "hvm"}
PAGE_FIELDS |= {"platform": "linux"}


def test_the_upload_page_registers_the_file_and_goes_to_the_image(admin_client, settings, tmp_path):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    assert "data-upload-progress" in admin_client.get("/images/upload/").content.decode()
    disk = qcow2(tmp_path / "disk.qcow2")
    with open(disk, "rb") as file:
        answer = admin_client.post("/images/upload/", {**PAGE_FIELDS, "name": "up", "file": file})
    image = Image.objects.get(name="up")
    assert answer.status_code == 302 and answer.url == image.get_absolute_url()
    assert Path(image.location).read_bytes() == disk.read_bytes()


def test_the_upload_page_says_what_is_wrong_and_keeps_nothing(
    admin_client, monkeypatch, settings, tmp_path
):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    raw = tmp_path / "disk.img"
    raw.write_bytes(bytes(65536))
    with open(raw, "rb") as file:
        answer = admin_client.post("/images/upload/", {**PAGE_FIELDS, "name": "up", "file": file})
    assert answer.status_code == 200 and "The file is raw, not qcow2." in answer.content.decode()
    full = shutil.disk_usage(tmp_path)._replace(free=0)  # a full disk, not made for real
    monkeypatch.setattr("nodes.image_files.shutil.disk_usage", lambda folder: full)
    with open(raw, "rb") as file:
        answer = admin_client.post("/images/upload/", {**PAGE_FIELDS, "name": "up", "file": file})
    assert "The console host has 0.0 GiB free in " in answer.content.decode()
    assert not Image.objects.exists() and list(settings.KUMO_IMAGES_DIR.iterdir()) == []


def test_the_upload_page_checks_its_csrf_token(admin, settings, tmp_path):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    with open(qcow2(tmp_path / "disk.qcow2"), "rb") as file:
        answer = browser.post("/images/upload/", {**PAGE_FIELDS, "name": "up", "file": file})
    assert answer.status_code == 403 and not Image.objects.exists()


def test_a_nul_in_an_upload_field_is_a_form_error(admin_client, settings, tmp_path):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    with open(qcow2(tmp_path / "disk.qcow2"), "rb") as file:
        fields = {**PAGE_FIELDS, "name": "a\x00b", "file": file}
        answer = admin_client.post("/images/upload/", fields)
    assert answer.status_code == 200 and "Null characters are not allowed." in answer.text


def test_a_member_cannot_stream_an_upload_in_before_the_403(member_a, settings, tmp_path):
    settings.KUMO_IMAGES_DIR = tmp_path / "images"
    answer = uploaded_by_a_session(member_a, qcow2(tmp_path / "disk.qcow2"))
    assert answer.status_code == 403
    assert list(settings.KUMO_IMAGES_DIR.glob("*")) == []
