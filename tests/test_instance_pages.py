"""The instance pages: launch form, the buttons a state allows, confirmations, history, the
Actions page."""

import pytest
from django.test import Client

from nodes.models import Action, Image, Instance


@pytest.fixture
def launched(
    member_client, member_a, demo_sim, queue, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            "/instances/new/",
            {
                "image": Image.objects.get(kind="machine").ec2_id,
                "instance_type": "m1.small",
                "count": 1,
                "name": "from-the-form",
                "user_data": "bootparams=quiet",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    run_jobs()
    instance = Instance.objects.get(name="from-the-form")
    yield instance
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(f"/instances/{instance.ec2_id}/actions/terminate/")
    run_jobs()


def test_a_member_launches_from_the_form(launched, member_client):
    assert launched.vm_state == "active"
    page = member_client.get(launched.get_absolute_url()).content.decode()
    assert "Launch" in page and "succeeded" in page.lower()


def test_the_page_offers_only_the_allowed_actions_with_confirmations(launched, member_client):
    page = member_client.get(launched.get_absolute_url()).content.decode()
    for allowed in ["Stop", "Reboot", "Hard reboot", "Pause", "Suspend", "Snapshot", "Terminate"]:
        assert f">{allowed}</button>" in page
    for forbidden in ["Start", "Unpause", "Resume", "Reset state"]:
        assert f">{forbidden}</button>" not in page
    assert "cannot be undone" in page  # terminate asks first


def test_an_action_from_the_page_is_queued_and_recorded(
    launched, member_client, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(f"/instances/{launched.ec2_id}/actions/pause/", follow=True)
    assert "Pause of " in response.content.decode()
    run_jobs()
    launched.refresh_from_db()
    assert launched.vm_state == "paused"
    page = member_client.get(launched.get_absolute_url()).content.decode()
    assert ">Unpause</button>" in page


def test_a_refused_action_says_why(launched, member_client):
    response = member_client.post(f"/instances/{launched.ec2_id}/actions/start/", follow=True)
    assert "while it is active" in response.content.decode()


def test_the_actions_page_lists_only_the_members_own(launched, member_b, admin_client):
    client = Client()
    client.force_login(member_b)
    assert launched.ec2_id not in client.get("/actions/").content.decode()
    action = Action.objects.filter(instance=launched).first()
    assert client.get(f"/actions/{action.pk}/").status_code == 404
    page = admin_client.get("/actions/?status=succeeded").content.decode()
    assert launched.ec2_id in page
    assert "Choose a node" in admin_client.get(f"/actions/{action.pk}/").content.decode()


def test_the_launch_form_explains_bad_input(member_client, member_b, demo_sim):
    hers = Image.objects.create(owner=member_b, name="hers", location="/x", kind="machine")
    page = member_client.post(
        "/instances/new/",
        {
            "image": hers.ec2_id,
            "instance_type": "m1.small",
            "count": 50,
            "user_data": "x" * 17000,
        },
    ).content.decode()
    assert "Select a valid choice" in page and "limited to 16 KiB" in page
    assert "less than or equal to 20" in page
    assert not Instance.objects.exists()


def test_user_data_may_be_uploaded_as_a_text_file(member_client, demo_sim, queue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = {
        "image": Image.objects.get(kind="machine").ec2_id,
        "instance_type": "m1.small",
        "count": 1,
        "name": "uploaded",
    }
    binary = SimpleUploadedFile("data.bin", b"\x1f\x8b\x08\x00\xff\xfe", "application/octet-stream")
    page = member_client.post(
        "/instances/new/", {**form, "user_data_file": binary}
    ).content.decode()
    assert "must be text (UTF-8), not binary" in page
    both = SimpleUploadedFile("both.txt", b"#!/bin/sh\n", "text/plain")
    page = member_client.post(
        "/instances/new/", {**form, "user_data": "typed", "user_data_file": both}
    ).content.decode()
    assert "Type the user data or upload it, not both" in page
    big = SimpleUploadedFile("big.txt", b"x" * 17_000, "text/plain")
    assert (
        "limited to 16 KiB"
        in member_client.post("/instances/new/", {**form, "user_data_file": big}).content.decode()
    )
    text = SimpleUploadedFile(
        "cloud.txt", "#cloud-config\nlocale: ja_JP.UTF-8 # 日本\n".encode(), "text/plain"
    )
    assert (
        member_client.post("/instances/new/", {**form, "user_data_file": text}).status_code == 302
    )
    import base64

    stored = Instance.objects.get(name="uploaded").user_data
    assert base64.b64decode(stored).decode().endswith("日本\n")


def test_the_page_shows_the_domain_xml_without_the_vnc_password(launched, member_client):
    assert f'passwd="{launched.vnc_password}"' in launched.domain_xml
    page = member_client.get(launched.get_absolute_url()).content.decode()
    assert "&lt;domain" in page and "passwd=&quot;(hidden)&quot;" in page
    assert launched.vnc_password not in page


def test_the_live_panel_is_a_fragment_of_a_few_kib_without_the_domain_xml(launched, member_client):
    page = member_client.get(launched.get_absolute_url()).content.decode()
    live_url = f"/instances/{launched.ec2_id}/live/"
    assert f'hx-get="{live_url}"' in page and "Domain XML" in page
    fragment = member_client.get(live_url).content.decode()
    assert len(fragment.encode()) < 8 * 1024
    assert fragment.lstrip().startswith('<div id="detail-body"')
    assert "<html" not in fragment and "Domain XML" not in fragment
    assert "Active" in fragment and "Terminate" in fragment


def test_the_page_and_the_api_answer_the_same_mistakes_alike(launched, member_client, member_a):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(member_a)
    url = f"/api/v1/instances/{launched.ec2_id}/actions/"
    page = member_client.post(f"/instances/{launched.ec2_id}/actions/explode/")
    answer = api.post(url, {"action": "explode"}, format="json")
    assert page.status_code == answer.status_code == 400
    assert page.content.decode() == answer.json()["action"][0]

    api_refusal = api.post(url, {"action": "start"}, format="json")  # it is running
    assert api_refusal.status_code == 409
    page = member_client.post(f"/instances/{launched.ec2_id}/actions/start/", follow=True)
    assert api_refusal.json()["detail"] in [str(m) for m in page.context["messages"]]
    denied = member_client.post(f"/instances/{launched.ec2_id}/actions/reset_state/")
    assert denied.status_code == api.post(url, {"action": "reset_state"}).status_code == 403
