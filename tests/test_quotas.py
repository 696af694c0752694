"""Quotas: defaults, per-user overrides, usage, and no overshoot under concurrency."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from nodes.models import Image, Instance, Quota


def launch_body(**changes):
    return {
        "image": Image.objects.get(kind="machine").ec2_id,
        "instance_type": "m1.small",
        **changes,
    }


def test_a_member_reads_their_limits_and_usage(api, member_a, demo_sim):
    api.force_authenticate(member_a)
    body = api.get("/api/v1/quota/").json()
    assert body["limits"] == {
        "instances": 10,
        "vcpus": 20,
        "ram_mb": 20480,
        "volumes": 10,
        "volume_gib": 100,
    }
    assert body["usage"] == dict.fromkeys(body["limits"], 0) and body["limited"]


def test_a_launch_over_the_quota_is_refused_and_writes_nothing(api, member_a, demo_sim, queue):
    Quota.objects.create(user=member_a, instances=2, vcpus=8, ram_mb=4096)
    api.force_authenticate(member_a)
    response = api.post("/api/v1/instances/", launch_body(count=3), format="json")
    assert response.status_code == 400
    assert "instances: 0 in use + 3 > 2" in response.json()["quota"][0]
    assert not Instance.objects.exists()


def test_admins_read_and_set_a_members_limits(api, admin, member_a, member_b):
    api.force_authenticate(admin)
    response = api.patch(f"/api/v1/quotas/{member_a.username}/", {"instances": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["limits"] == {
        "instances": 3,
        "vcpus": 20,
        "ram_mb": 20480,
        "volumes": 10,
        "volume_gib": 100,
    }
    assert response.json()["override"]
    assert api.get(f"/api/v1/quotas/{member_b.username}/").json()["override"] is False
    assert (
        api.patch(f"/api/v1/quotas/{member_a.username}/", {"vcpus": -1}, format="json").status_code
        == 400
    )
    assert api.get("/api/v1/quotas/nobody/").status_code == 404


def test_members_cannot_read_or_set_others_limits(api, member_a, member_b):
    api.force_authenticate(member_a)
    assert api.get(f"/api/v1/quotas/{member_b.username}/").status_code == 403
    assert (
        api.patch(
            f"/api/v1/quotas/{member_a.username}/", {"instances": 99}, format="json"
        ).status_code
        == 403
    )


def test_the_member_sees_quota_left_when_launching(member_client, demo_sim):
    page = member_client.get("/instances/new/").content.decode()
    assert (
        "Your quota" not in page
        and "<td>instances</td><td>0</td><td>10</td><td>10</td>" in page.replace("\n", "")
    )
    assert "m1.small — 1 vCPU, 256 MiB" in page


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_launches_against_a_quota_of_three_make_exactly_three(
    member_a, demo_sim, queue
):
    """Ten API requests released at the same moment (a barrier), each on its own thread and
    database connection: the quota check and the creation are one locked step."""
    Quota.objects.create(user=member_a, instances=3)
    body = launch_body()
    start = threading.Barrier(10)
    statuses = []

    def launch():
        client = APIClient()
        client.force_authenticate(member_a)
        try:
            start.wait()
            statuses.append(client.post("/api/v1/instances/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=launch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] * 3 + [400] * 7
    assert Instance.objects.filter(owner=member_a).count() == 3
