"""Clusters, nodes and instance types written over the API, through the pages' own forms:
the same validation and messages, defaults for what is left out, PATCH keeping the rest,
and a delete of something in use refused naming what uses it."""

import pytest
from rest_framework.test import APIClient

from nodes.forms import ClusterForm, NodeForm
from nodes.models import Cluster, InstanceType, Node

pytestmark = pytest.mark.django_db(transaction=True)  # a node's probe is queued


@pytest.fixture
def admin_api(api, admin):
    api.force_authenticate(admin)
    return api


def test_an_admin_adds_a_cluster_and_gets_it_back(admin_api):
    answer = admin_api.post("/api/v1/clusters/", {"name": "east"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["name"] == "east" and answer.json()["placement_policy"] == "GREEDY"
    assert admin_api.get("/api/v1/clusters/east/").status_code == 200


def test_a_duplicate_name_gets_the_forms_own_message(admin_api, cluster):
    answer = admin_api.post("/api/v1/clusters/", {"name": cluster.name}, format="json")
    form = ClusterForm(data={"name": cluster.name, "placement_policy": "GREEDY"})
    assert answer.status_code == 400
    assert answer.json()["name"] == form.errors["name"]


def test_an_admin_adds_a_node_which_is_probed(admin_api, cluster, queue):
    body = {"cluster": cluster.name, "name": "n2", "uri": "test:///default"}
    answer = admin_api.post("/api/v1/nodes/", {**body, "domain_type": "test"}, format="json")
    assert answer.status_code == 201, answer.json()
    node = Node.objects.get(name="n2")
    assert (node.cluster, node.cpu_allocation_ratio) == (cluster, 4)  # a default
    assert any("probe" in job.func_name for job in queue.get_jobs())


def test_a_node_is_refused_as_its_form_refuses_it(admin_api, cluster):
    body = {"cluster": cluster.name, "name": "n2", "uri": "test:///default", "domain_type": "qemu"}
    answer = admin_api.post("/api/v1/nodes/", body, format="json")
    form = NodeForm(data={**body, "cluster": cluster.pk, "auth_method": "none"})
    assert answer.status_code == 400
    assert answer.json()["domain_type"] == form.errors["domain_type"]
    assert not Node.objects.filter(name="n2").exists()


def test_a_node_in_an_unknown_cluster_is_a_field_error(admin_api, cluster):
    body = {"cluster": "nowhere", "name": "n2", "uri": "test:///default", "domain_type": "test"}
    answer = admin_api.post("/api/v1/nodes/", body, format="json")
    assert answer.status_code == 400 and "valid choice" in answer.json()["cluster"][0]


def test_a_sasl_password_is_written_never_read(admin_api, sim_node):
    answer = admin_api.patch("/api/v1/nodes/sim/", {"auth_method": "sasl"}, format="json")
    assert answer.json() == {
        "username": ["SASL needs a username."],
        "password": ["SASL needs a password."],
    }
    body = {"auth_method": "sasl", "username": "kumo", "password": "s3cret-enough"}
    answer = admin_api.patch("/api/v1/nodes/sim/", body, format="json")
    assert answer.status_code == 200 and "password" not in answer.json()
    assert "s3cret" not in answer.content.decode()
    sim_node.refresh_from_db()
    assert sim_node.sealed_password and sim_node.password == "s3cret-enough"


def test_patch_changes_only_what_it_names(admin_api, sim_node):
    answer = admin_api.patch("/api/v1/nodes/sim/", {"enabled": False}, format="json")
    assert answer.status_code == 200
    sim_node.refresh_from_db()
    assert not sim_node.enabled and sim_node.uri.startswith("test")


def test_deleting_what_is_in_use_is_a_409_naming_its_users(admin_api, world, sim_node):
    answer = admin_api.delete("/api/v1/instance-types/m1.small/")
    assert answer.status_code == 409
    names = sorted(str(world[key]) for key in ("instance_a", "instance_b"))
    assert answer.json()["detail"] == (
        f"m1.small is used by 2 instances ({', '.join(names)}): delete or move those first."
    )
    assert admin_api.delete("/api/v1/clusters/demo/").status_code == 409


def test_deleting_what_nothing_uses_is_a_204(admin_api, db):
    InstanceType.objects.create(name="t9", vcpus=1, memory_mb=64, disk_gb=1)
    assert admin_api.delete("/api/v1/instance-types/t9/").status_code == 204
    assert not InstanceType.objects.filter(name="t9").exists()


def test_a_null_character_is_a_field_error(admin_api, db):
    answer = admin_api.post("/api/v1/clusters/", {"name": "a\x00b"}, format="json")
    assert answer.status_code == 400 and answer.json() == {
        "name": ["Null characters are not allowed."]
    }


def test_a_body_that_is_not_an_object_is_a_400(admin_api, db):
    answer = admin_api.post("/api/v1/clusters/", ["east"], format="json")
    assert answer.status_code == 400


def test_members_read_but_do_not_write(api, member_a, cluster):
    api.force_authenticate(member_a)
    assert api.get(f"/api/v1/clusters/{cluster.name}/").status_code == 200
    answer = api.post("/api/v1/clusters/", {"name": "mine"}, format="json")
    assert answer.status_code == 403
    assert answer.json()["detail"] == "Only admins can change the cloud's inventory."
    assert api.patch(f"/api/v1/clusters/{cluster.name}/", {}, format="json").status_code == 403
    assert not Cluster.objects.filter(name="mine").exists()


def test_a_constraint_with_a_percent_sign_in_its_message_is_a_400(admin_api, small):
    answer = admin_api.patch("/api/v1/instance-types/m1.small/", {"cpu_weight": 0}, format="json")
    assert answer.status_code == 400
    assert "the cap from 0 to 100 % per vCPU" in str(answer.json())


def test_an_admin_registers_an_image_file_as_the_page_does(admin_api, tmp_path):
    disk = tmp_path / "disk.qcow2"
    disk.write_bytes(b"QFI\xfb" + bytes(508))
    body = {"kind": "machine", "name": "debian", "format": "qcow2", "location": str(disk)}
    answer = admin_api.post("/api/v1/images/register/", body, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["id"].startswith("emi-") and answer.json()["size_bytes"] == 512
    again = admin_api.post("/api/v1/images/register/", body, format="json")
    assert again.json()["name"] == ["This owner already has an image with this name."]
    missing = admin_api.post(
        "/api/v1/images/register/", {**body, "name": "x", "location": "/nowhere"}, format="json"
    )
    assert missing.json()["location"] == ["No file at /nowhere on the console host."]


def test_an_image_is_changed_and_deleted_by_admins_only(admin_api, member_a, world, tmp_path):
    image = world["image_a"]
    image.location = str(tmp_path / "a.img")  # the form checks that the file is there
    (tmp_path / "a.img").write_bytes(b"disk")
    image.save()
    answer = admin_api.patch(f"/api/v1/images/{image.ec2_id}/", {"is_public": True}, format="json")
    assert answer.status_code == 200 and answer.json()["is_public"]
    member = APIClient()
    member.force_authenticate(member_a)
    assert member.delete(f"/api/v1/images/{image.ec2_id}/").status_code == 403
    assert admin_api.delete(f"/api/v1/images/{image.ec2_id}/").status_code == 204
    used = world["public_image"]
    assert admin_api.delete(f"/api/v1/images/{used.ec2_id}/").status_code == 409


def test_members_still_make_images_of_their_own_disks_but_register_none(api, member_a, world):
    api.force_authenticate(member_a)
    answer = api.post("/api/v1/images/register/", {"name": "x"}, format="json")
    assert answer.status_code == 403
    answer = api.post("/api/v1/images/", {"name": "x"}, format="json")
    assert answer.status_code == 400  # no source given: refused by the serializer, not 403


@pytest.mark.parametrize("given", [7, ["demo"], {"name": "demo"}, None])
def test_a_cluster_that_is_not_a_name_is_a_field_error(admin_api, sim_node, given):
    body = {"cluster": given, "name": "n2", "uri": "test:///default", "domain_type": "test"}
    answer = admin_api.post("/api/v1/nodes/", body, format="json")
    assert answer.status_code == 400 and list(answer.json()) == ["cluster"]
