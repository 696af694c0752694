"""A node's unmanaged domains over the API: listed, adopted, ignored, as on the node's page."""

import pytest

from nodes import operations
from nodes.choices import ActionKind
from nodes.models import Instance, UnmanagedDomain

pytestmark = pytest.mark.django_db(transaction=True)
DOMAIN_UUID = "00000000-0000-4000-8000-0000000000b1"


@pytest.fixture
def stray(sim_node):
    """A domain the watcher found on the sim node with no instance."""
    return UnmanagedDomain.objects.create(
        node=sim_node, uuid=DOMAIN_UUID, name="stray", power_state="running"
    )


@pytest.fixture
def admin_api(api, admin):
    api.force_authenticate(admin)
    return api


def test_the_unmanaged_domains_of_a_node_are_listed(admin_api, stray):
    listed = admin_api.get("/api/v1/nodes/sim/unmanaged/").json()
    assert [(d["id"], d["uuid"], d["name"], d["ignored"]) for d in listed] == [
        (stray.pk, DOMAIN_UUID, "stray", False)
    ]
    assert admin_api.get("/api/v1/nodes/nowhere/unmanaged/").status_code == 404


def test_an_unmanaged_domain_is_adopted_as_an_instance(admin_api, stray, world, member_a, queue):
    body = {"owner": member_a.username, "image": world["public_image"].ec2_id}
    body["instance_type"] = "m1.small"
    answer = admin_api.post(f"/api/v1/nodes/sim/unmanaged/{stray.pk}/adopt/", body, format="json")
    assert answer.status_code == 202, answer.json()
    instance = Instance.objects.get(ec2_id=answer.json()["instance"]["id"])
    assert (instance.owner, str(instance.uuid), instance.name) == (member_a, DOMAIN_UUID, "stray")
    assert answer.json()["action"]["action"] == ActionKind.ADOPT
    assert not UnmanagedDomain.objects.filter(pk=stray.pk).exists()


def test_an_adoption_names_what_it_lacks(admin_api, stray, settings):
    url = f"/api/v1/nodes/sim/unmanaged/{stray.pk}/adopt/"
    answer = admin_api.post(url, {"owner": "nobody"}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"owner", "image", "instance_type"}
    assert UnmanagedDomain.objects.filter(pk=stray.pk).exists()


def test_an_adoption_without_the_job_queue_is_a_503_and_adopts_nothing(
    admin_api, stray, world, member_a, settings
):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    body = {"owner": member_a.username, "image": world["public_image"].ec2_id}
    body["instance_type"] = "m1.small"
    answer = admin_api.post(f"/api/v1/nodes/sim/unmanaged/{stray.pk}/adopt/", body, format="json")
    assert answer.status_code == 503
    assert not Instance.objects.filter(uuid=DOMAIN_UUID).exists()


def test_an_ignored_domain_stays_listed_as_ignored(admin_api, stray):
    answer = admin_api.post(f"/api/v1/nodes/sim/unmanaged/{stray.pk}/ignore/")
    assert answer.status_code == 200 and answer.json()["ignored"] is True
    stray.refresh_from_db()
    assert stray.ignored


def test_a_domain_adopted_meanwhile_is_refused_not_adopted_twice(
    admin, stray, world, member_a, queue
):
    counted_as = (world["public_image"], world["instance_a"].instance_type)
    operations.adopt(admin, stray, member_a, *counted_as)
    with pytest.raises(operations.ActionRefused, match="stray was adopted meanwhile"):
        operations.adopt(admin, stray, member_a, *counted_as)  # a second admin's stale page
    assert Instance.objects.filter(uuid=DOMAIN_UUID).count() == 1
