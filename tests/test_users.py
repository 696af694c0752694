"""Admins manage people in the console: create (a password shown once), edit, deactivate,
reactivate, and quotas (the defaults and a member's own). Members reach none of it."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from nodes.models import ConsoleSession, ConsoleToken, Quota
from tests.conftest import logs_in

User = get_user_model()


def test_the_user_list_shows_roles_instances_and_quotas(admin_client, world):
    Quota.objects.create(user=world["instance_a"].owner, instances=3)
    page = admin_client.get("/users/").content.decode()
    for username in ("alice", "bob", "carol"):
        assert f'href="/users/{username}/"' in page
    filtered = admin_client.get("/users/?is_staff=False&q=bo").content.decode()
    assert "/users/bob/" in filtered and "/users/carol/" not in filtered


def test_an_admin_creates_a_user_whose_password_is_shown_once(admin_client):
    response = admin_client.post("/users/new/", {"username": "dave", "email": "d@example.org"})
    assert response["Cache-Control"] == "no-store"
    password = response.context["password"]
    assert password in response.content.decode()
    dave = User.objects.get(username="dave")
    assert not dave.is_staff and dave.check_password(password)
    assert password not in admin_client.get("/users/dave/").content.decode()
    assert logs_in("dave", password)


def test_a_given_password_must_pass_the_password_rules(admin_client):
    page = admin_client.post("/users/new/", {"username": "erin", "password": "abc"}).content
    assert b"too short" in page and not User.objects.filter(username="erin").exists()
    response = admin_client.post(
        "/users/new/", {"username": "erin", "password": "a long enough pass phrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/users/erin/"


def test_an_admin_makes_a_member_an_admin(admin_client, member_a):
    admin_client.post("/users/bob/edit/", {"username": "bob", "is_staff": "on"})
    member_a.refresh_from_db()
    assert member_a.is_staff and member_a.is_superuser


def test_an_admin_cannot_demote_or_deactivate_themselves(admin_client, admin):
    page = admin_client.post("/users/alice/edit/", {"username": "alice"}).content.decode()
    assert "your own admin role" in page
    response = admin_client.post("/users/alice/deactivate/", follow=True)
    assert "cannot deactivate your own account" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_staff and admin.is_active


def test_deactivating_ends_logins_the_api_token_and_consoles(admin_client, world, member_a, api):
    instance = world["instance_a"]
    key = Token.objects.create(user=member_a).key
    ConsoleToken.objects.create(
        digest="x" * 64,
        instance=instance,
        user=member_a,
        kind="serial",
        expires_at="2099-01-01T00:00Z",
    )
    session = ConsoleSession.objects.create(instance=instance, user=member_a, kind="serial")
    admin_client.post("/users/bob/deactivate/")
    member_a.refresh_from_db()
    assert not member_a.is_active
    assert not logs_in("bob", "pw")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/instances/").status_code == 401
    assert not ConsoleToken.objects.exists()
    session.refresh_from_db()
    assert session.ended_at and session.end_reason == "The account was deactivated."
    admin_client.post("/users/bob/activate/")
    assert logs_in("bob", "pw")


def test_an_admin_sets_a_members_own_quota_and_takes_it_back(admin_client, member_a):
    limits = {"instances": 2, "vcpus": 4, "ram_mb": 1024, "volumes": 3, "volume_gib": 30}
    admin_client.post("/users/bob/quota/", limits)
    assert Quota.of(member_a).limits() == limits
    page = admin_client.get("/users/bob/").content.decode()
    assert "its own" in page and "Use the defaults again" in page
    response = admin_client.post("/users/bob/quota/", {"instances": -1}, follow=True)
    assert "was not saved" in response.content.decode()
    admin_client.post("/users/bob/quota/", {"use_defaults": "1"})
    assert Quota.of(member_a).user is None


def test_an_admin_changes_the_default_quota(admin_client, member_a):
    limits = {"instances": 5, "vcpus": 6, "ram_mb": 2048, "volumes": 7, "volume_gib": 70}
    admin_client.post("/quotas/", limits)
    assert Quota.of(member_a).limits() == limits


def test_the_api_drops_an_own_quota_and_sets_the_defaults(api, admin, member_a):
    api.force_authenticate(admin)
    api.patch("/api/v1/quotas/bob/", {"instances": 3}, format="json")
    body = api.delete("/api/v1/quotas/bob/").json()
    assert body["override"] is False
    defaults = api.patch("/api/v1/quota-defaults/", {"vcpus": 8}, format="json").json()
    assert defaults == {
        "instances": 10,
        "vcpus": 8,
        "ram_mb": 20480,
        "volumes": 10,
        "volume_gib": 100,
    }
    assert api.get("/api/v1/quota/").json()["limited"] is False


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/users/"),
        ("get", "/users/new/"),
        ("get", "/users/carol/"),
        ("post", "/users/carol/deactivate/"),
        ("post", "/users/carol/quota/"),
        ("get", "/quotas/"),
    ],
)
def test_members_reach_no_user_page(member_client, member_b, method, url):
    assert getattr(member_client, method)(url).status_code == 403
    member_b.refresh_from_db()
    assert member_b.is_active


def test_the_name_new_is_refused_for_a_user(admin_client):
    page = admin_client.post("/users/new/", {"username": "new"}).content.decode()
    assert "names the page for a new user" in page


def test_a_users_page_keeps_the_admin_logged_in_as_themselves(admin_client, member_a):
    for url in ("/users/bob/", "/users/bob/edit/"):
        page = admin_client.get(url).content.decode()
        assert 'href="/rules/"' in page and ">alice (admin)</a>" in page
