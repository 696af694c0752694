"""One `for_user` decides what each persona sees, on pages and in the API alike."""

import pytest


def ids(response):
    return {row.get("id") or row.get("name") for row in response.json()["results"]}


@pytest.fixture
def as_user(api):
    def login(user):
        api.force_authenticate(user)
        return api

    return login


def test_a_member_sees_only_their_instances(as_user, member_a, world):
    api = as_user(member_a)
    assert ids(api.get("/api/v1/instances/")) == {world["instance_a"].ec2_id}
    assert api.get(f"/api/v1/instances/{world['instance_b'].ec2_id}/").status_code == 404


def test_a_member_sees_public_images_and_their_own(as_user, member_a, world):
    seen = ids(as_user(member_a).get("/api/v1/images/"))
    assert seen == {world["public_image"].ec2_id, world["image_a"].ec2_id}


def test_a_member_sees_no_nodes(as_user, member_a, world):
    api = as_user(member_a)
    assert api.get("/api/v1/nodes/").json()["count"] == 0
    assert api.get("/api/v1/nodes/sim/").status_code == 404


def test_a_member_sees_only_their_keypairs(as_user, member_a, world):
    body = as_user(member_a).get("/api/v1/keypairs/").json()
    assert [(k["name"], k["owner"]) for k in body["results"]] == [("main", "bob")]


def test_everybody_sees_clusters_and_instance_types(as_user, member_b, world):
    api = as_user(member_b)
    assert ids(api.get("/api/v1/clusters/")) == {"demo"}
    assert ids(api.get("/api/v1/instance-types/")) == {"m1.small"}


def test_an_admin_sees_everything(as_user, admin, world):
    api = as_user(admin)
    assert len(ids(api.get("/api/v1/instances/"))) == 2
    assert len(ids(api.get("/api/v1/images/"))) == 3
    assert ids(api.get("/api/v1/nodes/")) == {"sim"}


def test_pages_use_the_same_rule(client, member_a, world):
    client.force_login(member_a)
    listing = client.get("/instances/").content.decode()
    assert world["instance_a"].ec2_id in listing and world["instance_b"].ec2_id not in listing
    assert client.get(f"/instances/{world['instance_b'].ec2_id}/").status_code == 404
    assert client.get(f"/images/{world['image_b'].ec2_id}/").status_code == 404
    assert client.get(f"/keypairs/{world['keypair_b'].pk}/").status_code == 404
    assert client.get("/nodes/sim/").status_code == 404


def test_members_may_not_change_the_inventory(client, member_a, world):
    client.force_login(member_a)
    for url in ["/clusters/new/", "/nodes/new/", "/images/new/", "/instance-types/new/"]:
        assert client.get(url).status_code == 403, url
    assert client.post("/clusters/new/", {"name": "mine"}).status_code == 403
    assert client.get("/clusters/demo/edit/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get("/instances/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_api_refuses_anonymous_callers(api, world):
    assert api.get("/api/v1/instances/").status_code == 401
