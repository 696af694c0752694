"""Instance diagnostics, as `nova diagnostics` gives them: read by a worker on request from
the test driver and from a real QEMU guest, kept beside the node's error when a read fails,
shown in the instance page's panel and given by the API."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from nodes import operations
from nodes.choices import ActionKind
from nodes.metrics.diagnostics import request_diagnostics
from nodes.metrics.models import Diagnostics
from nodes.models import Image, InstanceType, Node
from tests.browser import log_in
from tests.conftest import demo_password
from tests.test_actions import act, launched  # noqa: F401  (fixtures)
from tests.test_node_probe import redis_down  # noqa: F401

EMPTY = "No diagnostics read yet: Refresh reads them from the node."
HTMX = {"HTTP_HX_REQUEST": "true"}
NOWHERE = "test+unix:///default?socket=/tmp/kumo-diagnostics-nowhere/sock"


def url(instance, api=False):
    return f"{'/api/v1' if api else ''}/instances/{instance.ec2_id}/diagnostics/"


def refresh(api, instance, run_jobs, capture):
    """POST a refresh through the API and let a worker answer it; the API's answer."""
    with capture(execute=True):
        response = api.post(url(instance, api=True), format="json")
    assert response.status_code == 202, response.json()
    run_jobs()
    return api.get(url(instance, api=True)).json()


def test_a_read_of_a_test_driver_domain_has_its_disks_and_nics(
    launched,  # noqa: F811
    api,
    run_jobs,
    django_capture_on_commit_callbacks,
):
    body = refresh(api, launched, run_jobs, django_capture_on_commit_callbacks)
    assert (body["error"], body["waiting"], body["state"]) == ("", False, "running")
    assert body["taken_at"] >= body["requested_at"]
    assert (body["driver"], body["hypervisor"]) == ("libvirt", "test")
    disk = body["disk_details"][0]
    assert disk["target"] and disk["path"] and disk["capacity"] > 0
    assert disk["read_bytes"] >= 0 and disk["errors_count"] is not None
    nic = body["nic_details"][0]
    assert nic["mac_address"] and nic["target"] and nic["rx_octets"] >= 0
    assert body["num_disks"] == len(body["disk_details"]) and body["num_nics"] >= 1
    assert body["memory_details"]["maximum_kib"] > 0 and body["cpu_details"]


def test_uptime_counts_from_kumos_last_boot_and_is_unknown_after_a_resume(
    launched,  # noqa: F811
    api,
    run_jobs,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    body = refresh(api, launched, run_jobs, capture)
    launch = launched.actions.get(kind=ActionKind.LAUNCH)
    assert body["uptime"] >= 0 and body["booted_at"] == launch.finished_at.isoformat()
    for kind in ("suspend", "resume"):
        assert act(api, launched, kind, run_jobs, capture).status_code == 202
    body = refresh(api, launched, run_jobs, capture)
    assert (body["uptime"], body["booted_at"]) == (None, None)


@pytest.mark.django_db(transaction=True)
def test_a_qemu_guest_gives_its_vcpu_times_and_a_disk_with_its_capacity(installer, run_jobs):
    request_diagnostics(installer)
    run_jobs()
    copy = Diagnostics.objects.get(instance=installer)
    assert copy.error == "" and copy.data["hypervisor"] == "qemu"
    vcpus = copy.data["cpu_details"]
    assert len(vcpus) == installer.instance_type.vcpus and all(v["time_ns"] > 0 for v in vcpus)
    root = next(d for d in copy.data["disk_details"] if d["path"].endswith("root.qcow2"))
    assert root["capacity"] >= installer.instance_type.disk_gb * 1024**3
    assert root["allocation"] > 0 and root["read_bytes"] is not None
    nic = copy.data["nic_details"][0]
    assert nic["mac_address"] and nic["source"] == installer.node.nic_source
    memory = copy.data["memory_details"]
    assert memory["current_kib"] > 0 and memory["balloon"]["rss"] > 0
    assert (memory["guest_reports"], memory["used_kib"]) == (False, None)  # no stats period


def test_a_node_that_fails_leaves_its_message_beside_the_last_copy(
    launched,  # noqa: F811
    api,
    member_client,
    run_jobs,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    before = refresh(api, launched, run_jobs, capture)
    Node.objects.filter(pk=launched.node_id).update(uri=NOWHERE)
    after = refresh(api, launched, run_jobs, capture)
    assert after["error"] and not after["waiting"]
    assert (after["taken_at"], after["disk_details"]) == (
        before["taken_at"],
        before["disk_details"],
    )
    panel = member_client.get(url(launched)).content.decode()
    assert "The last read failed:" in panel and after["error"][:40] in panel
    assert before["disk_details"][0]["path"] in panel and "hx-trigger" not in panel


def test_the_panel_is_empty_until_a_refresh_and_then_polls_for_the_copy(
    launched,  # noqa: F811
    member_client,
    queue,
    run_jobs,
    django_capture_on_commit_callbacks,
):
    page = member_client.get(launched.get_absolute_url()).content.decode()
    assert EMPTY in page and f'hx-post="{url(launched)}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        waiting = member_client.post(url(launched), **HTMX).content.decode()
    assert "Reading the diagnostics" in waiting and 'hx-trigger="every 2s"' in waiting
    assert [job.func_name for job in queue.jobs] == ["nodes.metrics.jobs.read_diagnostics"]
    run_jobs()
    Diagnostics.objects.filter(instance=launched).update(
        taken_at=timezone.now() - timedelta(minutes=2)
    )
    Diagnostics.objects.filter(instance=launched).update(
        requested_at=timezone.now() - timedelta(minutes=3)
    )
    panel = member_client.get(url(launched)).content.decode()
    assert "Read 2\xa0minutes ago" in panel and "hx-trigger" not in panel
    disk = Diagnostics.objects.get(instance=launched).data["disk_details"][0]
    assert disk["path"] in panel and EMPTY not in panel


def test_a_read_no_worker_answers_stops_polling_and_says_so(running, member_a):
    Diagnostics.objects.create(
        instance=running, requested_at=timezone.now() - Diagnostics.UNANSWERED_AFTER * 2
    )
    client = Client()
    client.force_login(member_a)
    panel = client.get(url(running)).content.decode()
    assert "No worker has read them" in panel and "hx-trigger" not in panel


def test_a_stopped_instance_is_refused_with_a_message_and_no_job(
    world, member_a, api, queue, django_capture_on_commit_callbacks
):
    stopped = world["instance_a"]
    stopped.vm_state, stopped.power_state = "stopped", "shutoff"
    stopped.save()
    client = Client()
    client.force_login(member_a)
    with django_capture_on_commit_callbacks(execute=True):
        panel = client.post(url(stopped), **HTMX).content.decode()
        page = client.post(url(stopped), follow=True).content.decode()
        api.force_authenticate(member_a)
        answer = api.post(url(stopped, api=True), format="json")
    assert "is not running (shut off)" in panel and "is not running (shut off)" in page
    assert answer.status_code == 409 and "Start it, then refresh" in answer.json()["detail"]
    assert queue.count == 0 and not Diagnostics.objects.exists()


def test_the_api_gives_the_last_copy_and_queues_a_refresh(
    running, member_a, api, queue, django_capture_on_commit_callbacks
):
    api.force_authenticate(member_a)
    empty = api.get(url(running, api=True)).json()
    assert empty == {
        "taken_at": None,
        "requested_at": None,
        "waiting": False,
        "error": "",
        "uptime": None,
        "booted_at": None,
    }
    assert not Diagnostics.objects.exists()  # a GET writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post(url(running, api=True), format="json")
    assert queued.status_code == 202 and queued.json()["waiting"] is True
    assert queued.json()["requested_at"] and queue.count == 1


def test_another_members_instance_is_not_found(running, member_b, api):
    api.force_authenticate(member_b)
    assert api.get(url(running, api=True)).status_code == 404
    assert api.post(url(running, api=True), format="json").status_code == 404
    client = Client()
    client.force_login(member_b)
    assert client.get(url(running)).status_code == 404
    assert client.post(url(running), **HTMX).status_code == 404


@pytest.mark.usefixtures("redis_down")
def test_a_refresh_without_redis_is_refused(running, member_a, api):
    api.force_authenticate(member_a)
    answer = api.post(url(running, api=True), format="json")
    assert answer.status_code == 503 and "not reachable" in answer.json()["detail"]
    assert not Diagnostics.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_refresh_in_the_browser_shows_the_copy_without_a_reload(
    page, live_server, demo_sim, queue, run_jobs
):
    member = get_user_model().objects.get(username="member")
    [(instance, _)] = operations.launch(
        member,
        image=Image.objects.get(kind="machine"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        cluster=demo_sim.cluster,
    )
    run_jobs()
    log_in(page, live_server, "member", demo_password("member"))
    page.goto(f"{live_server.url}{instance.get_absolute_url()}")
    panel = page.locator("#diagnostics")
    assert EMPTY in panel.inner_text()
    page.evaluate("() => { window.notReloaded = true; }")
    panel.locator("button:has-text('Refresh')").click()
    panel.locator("text=Reading the diagnostics").wait_for(timeout=10_000)
    run_jobs()
    panel.locator("text=Counters count from the domain's start").wait_for(timeout=10_000)
    disk = Diagnostics.objects.get(instance=instance).data["disk_details"][0]
    assert disk["path"] in panel.inner_text()
    assert page.evaluate("() => window.notReloaded") is True
