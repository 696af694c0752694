"""The demo member in a real browser: creates a keypair, launches through the wizard to a
running instance on the sim node, watches the list follow without reloading, stops and
terminates it, and never sees anyone else's instance."""

import pytest
from django.contrib.auth import get_user_model

from nodes import operations
from nodes.models import Image, Instance, InstanceType, Keypair
from tests.browser import log_in
from tests.conftest import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def confirm_and_click(page, selector):
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(selector)


def test_the_demo_member_launches_stops_and_terminates_their_own_instance(
    page, live_server, demo_sim, queue, run_jobs
):
    admin = get_user_model().objects.get(username="admin")
    [(admins, _)] = operations.launch(
        admin,
        image=Image.objects.get(kind="machine"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        cluster=demo_sim.cluster,
        name="the-admins",
    )
    log_in(page, live_server, "member", demo_password("member"))

    page.goto(f"{live_server.url}/keypairs/new/")
    page.fill("#id_name", "laptop")
    page.click("button:has-text('Save')")
    assert "BEGIN OPENSSH PRIVATE KEY" in page.input_value("#private-key")
    member = Keypair.objects.get(name="laptop").owner

    page.goto(f"{live_server.url}/instances/new/")
    assert "instances" in page.inner_text("table")  # the quota left
    page.select_option("#id_image", label=f"{Image.objects.get(kind='machine')}")
    page.select_option("#id_instance_type", "m1.small")
    page.select_option("#id_keypair", label="laptop")
    page.fill("#id_count", "2")
    assert "2 instance(s), 2 vCPU(s) and 512 MiB" in page.inner_text("#launch-usage")
    page.fill("#id_count", "1")
    page.fill("#id_name", "from-the-browser")
    page.fill("#id_user_data", "#cloud-config\n")
    page.click("button:has-text('Launch')")
    page.wait_for_selector("text=from-the-browser")

    page.goto(f"{live_server.url}/instances/")
    assert "the-admins" not in page.inner_text("main")
    row = page.locator("#list-body tr", has_text="from-the-browser")
    assert "Scheduling" in row.inner_text()
    run_jobs()
    row.locator(".badge:has-text('Active')").wait_for(timeout=10_000)  # no reload

    row.locator("a").first.click()
    instance = Instance.objects.get(name="from-the-browser")
    assert (instance.owner, instance.node.name, instance.key_name) == (member, "sim", "laptop")
    assert not page.is_visible("button:has-text('Reset state')")
    confirm_and_click(page, "button:has-text('Stop')")
    run_jobs()
    page.wait_for_selector("#detail-body .badge:has-text('Stopped')", timeout=10_000)
    confirm_and_click(page, "button:has-text('Terminate')")
    run_jobs()
    page.wait_for_selector("#detail-body .badge:has-text('Deleted')", timeout=10_000)
    instance.refresh_from_db()
    assert instance.vm_state == "deleted" and admins.vm_state == "building"
    assert page.goto(f"{live_server.url}/instances/{admins.ec2_id}/").status == 404
