"""The JSON API: token auth, the paginated shape, ids as the UI shows them, the schema."""

import io

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token


def test_a_token_from_the_command_line_authenticates(api, admin, world):
    out = io.StringIO()
    call_command("drf_create_token", admin.username, stdout=out)
    key = Token.objects.get(user=admin).key
    assert key in out.getvalue()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/nodes/").status_code == 200


def test_a_wrong_token_is_refused(api, world):
    api.credentials(HTTP_AUTHORIZATION="Token nope")
    assert api.get("/api/v1/nodes/").status_code == 401


def test_a_user_creates_a_token_on_their_page_and_sees_it_once(client, member_a, api):
    client.force_login(member_a)
    page = client.post("/account/token/").content.decode()
    key = Token.objects.get(user=member_a).key
    assert key in page
    assert key not in client.get("/account/").content.decode()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/instance-types/").status_code == 200


def test_a_node_shows_what_operators_need(api, admin, world):
    api.force_authenticate(admin)
    node = api.get("/api/v1/nodes/sim/").json()
    for field in [
        "name",
        "cluster",
        "uri",
        "status",
        "cpus",
        "memory_mb",
        "domain_type",
        "last_error",
    ]:
        assert field in node
    assert (node["cluster"], node["status"], node["domain_type"]) == ("demo", "unknown", "test")


def test_objects_refer_to_each_other_by_their_ui_ids(api, admin, world):
    api.force_authenticate(admin)
    instance = world["instance_a"]
    body = api.get(f"/api/v1/instances/{instance.ec2_id}/").json()
    assert body["id"].startswith("i-") and body["image"].startswith("emi-")
    assert (body["instance_type"], body["node"], body["owner"]) == ("m1.small", "sim", "bob")
    assert (body["vm_state"], body["task_state"], body["power_state"]) == (
        "building",
        None,
        "nostate",
    )


@pytest.mark.parametrize("url", ["/api/v1/instances/i-nothex!/", "/api/v1/images/emi-00000000/"])
def test_malformed_or_unknown_ids_are_404(api, admin, world, url):
    api.force_authenticate(admin)
    assert api.get(url).status_code == 404


def test_the_openapi_schema_validates(db):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()


def test_the_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200 and b"/api/v1/nodes/" in response.content


def test_names_with_dots_reach_their_objects(api, admin, world):
    from nodes.models import Keypair, Node

    Node.objects.filter(name="sim").update(name="sim.rack-1")
    Keypair.objects.create(owner=admin, name="laptop.key", public_key="ssh-ed25519 AAAA x")
    api.force_authenticate(admin)
    assert api.get("/api/v1/instance-types/m1.small/").json()["vcpus"] == 1
    assert api.get("/api/v1/nodes/sim.rack-1/").json()["name"] == "sim.rack-1"
    assert api.get("/api/v1/keypairs/laptop.key/").json()["name"] == "laptop.key"
    assert api.delete("/api/v1/keypairs/laptop.key/").status_code == 204


def test_admins_see_every_keypair_and_name_one_by_its_owner(api, admin, world):
    api.force_authenticate(admin)
    owners = {k["owner"] for k in api.get("/api/v1/keypairs/").json()["results"]}
    assert owners == {"bob", "carol"}
    assert api.get("/api/v1/keypairs/main/?owner=bob").json()["owner"] == "bob"
    assert api.get("/api/v1/keypairs/?owner=carol").json()["count"] == 1
    assert api.get("/api/v1/keypairs/main/").status_code == 404  # the admin has none


def test_members_cannot_reach_another_members_keypair_by_owner(api, member_b, world):
    api.force_authenticate(member_b)
    assert api.get("/api/v1/keypairs/main/?owner=bob").status_code == 404
    assert api.get("/api/v1/keypairs/?owner=bob").json()["count"] == 0


def test_only_admins_see_where_an_image_lives(api, admin, member_a, world):
    image = world["public_image"].ec2_id
    api.force_authenticate(admin)
    assert api.get(f"/api/v1/images/{image}/").json()["location"]
    api.force_authenticate(member_a)
    assert "location" not in api.get(f"/api/v1/images/{image}/").json()
