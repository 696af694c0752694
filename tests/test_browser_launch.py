"""A member launches from the browser, through the form, to a running instance on sim."""

import pytest

from nodes.models import Instance
from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_launches_and_sees_it_running(
    page, live_server, member_a, demo_sim, queue, run_jobs
):
    log_in(page, live_server, "bob", "pw")
    page.goto(f"{live_server.url}/instances/new/")
    assert "instances" in page.inner_text("table")  # the quota left
    page.select_option("#id_image", index=1)
    page.select_option("#id_instance_type", index=1)
    page.fill("#id_count", "2")
    assert "2 instance(s), 2 vCPU(s) and 512 MiB" in page.inner_text("#launch-usage")
    page.fill("#id_count", "1")
    page.fill("#id_name", "from-the-browser")
    page.fill("#id_user_data", "#cloud-config\n")
    page.click("button:has-text('Launch')")
    page.wait_for_selector("text=from-the-browser")
    run_jobs()
    page.wait_for_selector("#detail-body .badge:has-text('Active')", timeout=10_000)
    instance = Instance.objects.get(name="from-the-browser")
    assert (instance.owner, instance.vm_state, instance.node.name) == (member_a, "active", "sim")
    assert page.is_visible("button:has-text('Stop')") and not page.is_visible(
        "button:has-text('Reset state')"
    )
