"""Draining a node (maintenance): nothing new placed on it, its instances moved away one by
one, a report of what could not move and why, back in service."""

import pytest

from nodes.models import Instance, Node
from tests.conftest import launch_installer, terminate_if_live


def drain(api, node, undo=False):
    return api.post(f"/api/v1/nodes/{node}/{'undrain' if undo else 'drain'}/", {}, format="json")


@pytest.mark.django_db
def test_a_draining_node_is_no_destination_until_it_is_back_in_service(two_sims, api, admin):
    instance, _ = two_sims
    api.force_authenticate(admin)
    response = drain(api, "sim-2")
    assert response.status_code == 202, response.json()
    assert response.json()["draining"] is True
    assert response.json()["drain_report"]["by"] == "alice"
    refused = api.post(
        f"/api/v1/instances/{instance.ec2_id}/actions/",
        {"action": "migrate", "node": "sim-2"},
        format="json",
    )
    assert refused.status_code == 409
    assert "sim-2: draining (maintenance)" in refused.json()["detail"]

    again = drain(api, "sim-2")
    assert again.status_code == 409 and "draining already" in again.json()["detail"]
    assert drain(api, "sim-2", undo=True).json()["draining"] is False
    assert not Node.objects.get(name="sim-2").draining


@pytest.mark.django_db(transaction=True)
def test_the_report_says_why_an_instance_stayed_and_the_node_page_shows_it(
    two_sims, api, admin, client, run_jobs, world
):
    suspended, _ = two_sims
    Instance.objects.filter(pk=suspended.pk).update(vm_state="suspended")
    with_snapshot = world["instance_b"]
    Instance.objects.filter(pk=with_snapshot.pk).update(vm_state="stopped")
    with_snapshot.snapshots.create(name="before")
    api.force_authenticate(admin)
    assert drain(api, "sim").status_code == 202
    run_jobs()
    report = Node.objects.get(name="sim").drain_report
    assert report["moved"] == [] and report["finished_at"]
    assert report["left"] == [
        {
            "instance": suspended.ec2_id,
            "reason": "It is suspended: only active, paused or stopped ones move.",
        },
        {
            "instance": with_snapshot.ec2_id,
            "reason": f"{with_snapshot.ec2_id} has snapshots, which libvirt cannot move: "
            "delete them first.",
        },
    ]
    client.force_login(admin)
    page = client.get("/nodes/sim/probe/").content.decode()
    assert f"{suspended.ec2_id} stayed: It is suspended" in page
    assert "Back in service" in page and ": done." in page


@pytest.mark.django_db(transaction=True)
def test_a_node_with_two_instances_drains_one_live_and_one_cold(
    installer, local_2, api, admin, run_jobs, settings
):
    stopped = launch_installer(admin, api, run_jobs, settings)
    try:
        api.post(f"/api/v1/instances/{stopped.ec2_id}/actions/", {"action": "stop"}, format="json")
        run_jobs()
        assert drain(api, "local").status_code == 202
        run_jobs()
        report = Node.objects.get(name="local").drain_report
        assert report["left"] == [], report
        assert report["moved"] == [
            {"instance": installer.ec2_id, "node": "local-2"},
            {"instance": stopped.ec2_id, "node": "local-2"},
        ]
        running, cold = (Instance.objects.get(pk=i.pk) for i in (installer, stopped))
        assert (running.node, running.power_state) == (local_2, "running")
        assert (cold.node, cold.vm_state) == (local_2, "stopped")
        assert running.actions.get(kind="migrate").params["live"] is True
        assert cold.actions.get(kind="migrate").params["live"] is False
    finally:
        terminate_if_live(stopped, admin, run_jobs)
