"""Who may reach what: every page and API endpoint × anonymous, member A, member B, admin.
What a member may not see is a 404 (the same as what does not exist); what they may see but
not do is a 403; anonymous visitors log in (pages) or get a 401 (API)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from nodes.domainxml import pipeline
from nodes.models import Action

# (method, url, {persona: status}); A owns the instance, keypair, image and action in `world`.
LOGIN, ALL = 302, {"a": 200, "b": 200, "admin": 200}
PAGES = [
    ("/", {"anon": LOGIN, **ALL}),
    ("/healthz", {"anon": 200, **ALL}),
    ("/account/", {"anon": LOGIN, **ALL}),
    ("/clusters/", {"anon": LOGIN, **ALL}),
    ("/clusters/demo/", {"anon": LOGIN, **ALL}),
    ("/clusters/new/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/clusters/demo/edit/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/nodes/", {"anon": LOGIN, **ALL}),
    ("/nodes/sim/", {"anon": LOGIN, "a": 404, "b": 404, "admin": 200}),
    ("/nodes/new/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/images/", {"anon": LOGIN, **ALL}),
    ("/images/{image_a}/", {"anon": LOGIN, "a": 200, "b": 404, "admin": 200}),
    ("/images/{public_image}/", {"anon": LOGIN, **ALL}),
    ("/images/new/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/instance-types/", {"anon": LOGIN, **ALL}),
    ("/instance-types/m1.small/", {"anon": LOGIN, **ALL}),
    ("/keypairs/", {"anon": LOGIN, **ALL}),
    ("/keypairs/new/", {"anon": LOGIN, **ALL}),
    ("/keypairs/{keypair_a}/", {"anon": LOGIN, "a": 200, "b": 404, "admin": 200}),
    ("/instances/", {"anon": LOGIN, **ALL}),
    ("/instances/new/", {"anon": LOGIN, **ALL}),
    ("/instances/{instance_a}/", {"anon": LOGIN, "a": 200, "b": 404, "admin": 200}),
    ("/instances/{instance_a}/console/", {"anon": LOGIN, "a": 200, "b": 404, "admin": 200}),
    ("/instances/{instance_a}/serial/", {"anon": LOGIN, "a": 200, "b": 404, "admin": 200}),
    ("/actions/", {"anon": LOGIN, **ALL}),
    ("/actions/{action_a}/", {"anon": LOGIN, "a": 200, "b": 404, "admin": 200}),
    ("/rules/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/rules/new/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/rules/{default_rule}/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
    ("/rules/{default_rule}/history/", {"anon": LOGIN, "a": 403, "b": 403, "admin": 200}),
]
POSTS = [
    ("/instances/{instance_a}/actions/explode/", {"anon": LOGIN, "a": 403, "b": 404, "admin": 403}),
    ("/keypairs/{keypair_a}/delete/", {"anon": LOGIN, "b": 404}),
    ("/nodes/sim/check/", {"anon": LOGIN, "a": 404, "b": 404}),
    ("/rules/{default_rule}/reset/", {"anon": LOGIN, "a": 403, "b": 403}),
    ("/clusters/new/", {"anon": LOGIN, "a": 403, "b": 403}),
]
API_GETS = [
    ("/api/schema/", {"anon": 200, **ALL}),
    ("/api/v1/clusters/", {"anon": 401, **ALL}),
    ("/api/v1/nodes/", {"anon": 401, **ALL}),
    ("/api/v1/nodes/sim/", {"anon": 401, "a": 404, "b": 404, "admin": 200}),
    ("/api/v1/images/{image_a}/", {"anon": 401, "a": 200, "b": 404, "admin": 200}),
    ("/api/v1/instance-types/", {"anon": 401, **ALL}),
    ("/api/v1/instances/", {"anon": 401, **ALL}),
    ("/api/v1/instances/{instance_a}/", {"anon": 401, "a": 200, "b": 404, "admin": 200}),
    ("/api/v1/instances/{instance_a}/snapshots/", {"anon": 401, "a": 200, "b": 404, "admin": 200}),
    (
        "/api/v1/instances/{instance_a}/console-output/",
        {"anon": 401, "a": 200, "b": 404, "admin": 200},
    ),
    ("/api/v1/actions/{action_a}/", {"anon": 401, "a": 200, "b": 404, "admin": 200}),
    ("/api/v1/keypairs/main/", {"anon": 401, "a": 200, "b": 200, "admin": 404}),
    ("/api/v1/rules/", {"anon": 401, "a": 403, "b": 403, "admin": 200}),
    ("/api/v1/quota/", {"anon": 401, **ALL}),
    ("/api/v1/quotas/bob/", {"anon": 401, "a": 403, "b": 403, "admin": 200}),
]
API_POSTS = [
    (
        "/api/v1/instances/{instance_a}/actions/",
        {"action": "explode"},
        {"anon": 401, "a": 400, "b": 404, "admin": 400},
    ),
    ("/api/v1/nodes/sim/check/", {}, {"anon": 401, "a": 404, "b": 404}),
    (
        "/api/v1/instances/{instance_a}/console/",
        {"type": "serial"},
        {"anon": 401, "a": 409, "b": 404, "admin": 409},
    ),
    ("/api/v1/rules/preview/", {"stylesheet": "x"}, {"anon": 401, "a": 403, "b": 403}),
    (
        "/api/v1/instances/",
        {"image": "{image_a}", "instance_type": "m1.small"},
        {"anon": 401, "b": 400},
    ),
]


@pytest.fixture
def ids(world, admin):
    action = Action.objects.create(
        instance=world["instance_a"],
        kind="launch",
        owner=world["instance_a"].owner,
        job_id="authz-1",
    )
    return {
        "image_a": world["image_a"].ec2_id,
        "public_image": world["public_image"].ec2_id,
        "keypair_a": world["keypair_a"].pk,
        "instance_a": world["instance_a"].ec2_id,
        "action_a": action.pk,
        "default_rule": pipeline.default_rule().pk,
    }


@pytest.fixture
def personas(member_a, member_b, admin):
    return {"anon": None, "a": member_a, "b": member_b, "admin": admin}


def client_for(user, api=False):
    client = APIClient() if api else Client()
    if user:
        client.force_login(user)
    return client


def check(personas, expected, request):
    for persona, status in expected.items():
        got = request(personas[persona]).status_code
        assert got == status, f"{persona}: {got}, expected {status}"


@pytest.mark.parametrize(("url", "expected"), PAGES, ids=[u for u, _ in PAGES])
def test_pages(url, expected, ids, personas):
    check(personas, expected, lambda user: client_for(user).get(url.format(**ids)))


@pytest.mark.parametrize(("url", "expected"), POSTS, ids=[u for u, _ in POSTS])
def test_page_posts(url, expected, ids, personas):
    check(personas, expected, lambda user: client_for(user).post(url.format(**ids)))


@pytest.mark.parametrize(("url", "expected"), API_GETS, ids=[u for u, _ in API_GETS])
def test_api_reads(url, expected, ids, personas):
    check(personas, expected, lambda user: client_for(user, api=True).get(url.format(**ids)))


@pytest.mark.parametrize(("url", "body", "expected"), API_POSTS, ids=[u for u, _, _ in API_POSTS])
def test_api_writes(url, body, expected, ids, personas):
    data = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    check(
        personas,
        expected,
        lambda user: client_for(user, api=True).post(url.format(**ids), data, format="json"),
    )


def test_id_guessing_looks_like_not_found(ids, personas):
    """Another's instance and one that does not exist answer alike."""
    b = client_for(personas["b"], api=True)
    theirs = b.get(f"/api/v1/instances/{ids['instance_a']}/")
    nobody = b.get("/api/v1/instances/i-00000000/")
    assert (theirs.status_code, theirs.json()) == (nobody.status_code, nobody.json())
