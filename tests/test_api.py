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


def test_lists_have_drfs_paginated_shape(api, admin, world):
    api.force_authenticate(admin)
    body = api.get("/api/v1/instances/").json()
    assert set(body) == {"count", "next", "previous", "results"}


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
