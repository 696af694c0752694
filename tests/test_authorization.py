"""Who may reach what: every page and API endpoint (each method) × anonymous, member A,
member B, admin. What a member may not see is a 404 (the same as what does not exist);
what they may see but not do is a 403; anonymous visitors log in (pages) or get a 401 (API).

`test_the_matrix_covers_every_url` fails when a URL or an API method has no row here. Each
row runs once per persona on a fresh database, so a row that changes things (a delete, a
deactivation) cannot affect the next persona's answer.
"""

import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from nodes.domainxml import pipeline
from nodes.models import Action, Rule, Snapshot, UnmanagedDomain
from nodes.storage.models import Volume, VolumeSnapshot

PERSONAS = ("anon", "a", "b", "admin")
LOGIN = 302  # pages send anonymous visitors to the login page


def page(a, b, admin, anon=LOGIN):
    return {"anon": anon, "a": a, "b": b, "admin": admin}


def api(a, b, admin, anon=401):
    return {"anon": anon, "a": a, "b": b, "admin": admin}


EVERYONE = page(200, 200, 200)
OWN = page(200, 404, 200)  # A's things: B sees nothing there
ADMINS = page(403, 403, 200)
API_EVERYONE = api(200, 200, 200)
API_OWN = api(200, 404, 200)
API_ADMINS = api(403, 403, 200)
NEW_CLUSTER = {"name": "east", "placement_policy": "GREEDY", "cpu_mode": "auto"}
NEW_TYPE = {"name": "t1", "vcpus": 1, "memory_mb": 64, "disk_gb": 1, "ephemeral_gb": 0}
NEW_TYPE |= {"cpu_weight": 256, "cpu_cap": 0}
NEW_NODE = {"cluster": "demo", "name": "n2", "uri": "test:///default", "domain_type": "test"}
NODE_MARKER = "matrix-node-marker"
SHEET = '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>'

# (method, url, body, {persona: status}); A owns the instance, keypair, image, action and
# snapshot in `world`; {…} are filled in from the `ids` fixture.
ROWS = [
    # Logging in and out, the dashboard, the health check, one's own account
    ("get", "/login/", None, page(200, 200, 200, anon=200)),
    ("post", "/logout/", None, page(302, 302, 302, anon=302)),
    ("get", "/", None, EVERYONE),
    ("get", "/healthz", None, page(200, 200, 200, anon=200)),
    # /metrics: by token or address, not by login (the test client is on loopback, which
    # KUMO_METRICS_ALLOW lets in; tests/test_prometheus.py refuses the others)
    ("get", "/metrics", None, page(200, 200, 200, anon=200)),
    ("get", "/account/", None, EVERYONE),
    ("post", "/account/token/", None, EVERYONE),
    ("post", "/account/token/delete/", None, page(302, 302, 302)),
    # Clusters and nodes: members see clusters, not nodes; only admins change them
    ("get", "/clusters/", None, EVERYONE),
    ("get", "/clusters/demo/", None, EVERYONE),
    ("get", "/clusters/new/", None, ADMINS),
    ("post", "/clusters/new/", NEW_CLUSTER, page(403, 403, 302)),
    ("get", "/clusters/demo/edit/", None, ADMINS),
    ("post", "/clusters/demo/edit/", {**NEW_CLUSTER, "name": "demo"}, page(403, 403, 302)),
    ("get", "/nodes/", None, EVERYONE),  # empty for members
    ("get", "/nodes/sim/", None, page(404, 404, 200)),
    ("get", "/nodes/new/", None, ADMINS),
    ("post", "/nodes/new/", {"name": "x"}, page(403, 403, 200)),  # the form's errors
    ("get", "/nodes/sim/edit/", None, ADMINS),
    ("get", "/nodes/sim/probe/", None, page(404, 404, 200)),
    ("post", "/nodes/sim/edit/", {"name": "sim"}, page(403, 403, 200)),
    ("post", "/nodes/sim/check/", None, page(404, 404, 302)),
    ("post", "/nodes/sim/drain/", None, page(404, 404, 302)),
    ("post", "/nodes/sim/undrain/", None, page(404, 404, 302)),
    ("post", "/nodes/sim/unmanaged/{unmanaged}/adopt/", None, page(404, 404, 302)),
    ("post", "/nodes/sim/unmanaged/{unmanaged}/ignore/", None, page(404, 404, 302)),
    # Images (own or public) and instance types (everyone's)
    ("get", "/images/", None, EVERYONE),
    ("get", "/images/{image_a}/", None, OWN),
    ("get", "/images/{public_image}/", None, EVERYONE),
    ("get", "/images/new/", None, ADMINS),
    ("post", "/images/new/", {"name": "x"}, page(403, 403, 200)),
    ("get", "/images/upload/", None, ADMINS),
    ("post", "/images/upload/", {"name": "x"}, page(403, 403, 200)),  # no file: the form again
    ("get", "/images/{image_a}/edit/", None, page(403, 403, 200)),
    ("post", "/images/{image_a}/edit/", {"name": "x"}, page(403, 403, 200)),
    ("get", "/instance-types/", None, EVERYONE),
    ("get", "/instance-types/m1.small/", None, EVERYONE),
    ("get", "/instance-types/new/", None, ADMINS),
    ("post", "/instance-types/new/", NEW_TYPE, page(403, 403, 302)),
    ("get", "/instance-types/m1.small/edit/", None, ADMINS),
    ("post", "/instance-types/m1.small/edit/", NEW_TYPE, page(403, 403, 302)),
    # Keypairs: one's own
    ("get", "/keypairs/", None, EVERYONE),
    # Volumes: anyone makes them (members on the nodes their instances are on); one's own
    ("get", "/volumes/", None, EVERYONE),
    ("get", "/volumes/new/", None, EVERYONE),
    ("post", "/volumes/new/", {"size_gib": 1, "node": "{node}"}, page(302, 302, 302)),
    ("get", "/volumes/{volume_a}/", None, OWN),
    ("get", "/volumes/{volume_a}/live/", None, OWN),
    ("post", "/volumes/{volume_a}/attach/", {"instance": "{instance_a}"}, page(302, 404, 302)),
    ("post", "/volumes/{volume_a}/detach/", None, page(302, 404, 302)),
    ("post", "/volumes/{volume_a}/delete/", None, page(302, 404, 302)),
    ("get", "/volumes/{volume_a}/image/", None, OWN),
    ("post", "/volumes/{volume_a}/image/", {"name": "v"}, page(200, 404, 200)),  # refused
    ("post", "/volumes/{volume_a}/snapshot/", None, page(302, 404, 302)),  # refused: test driver
    ("get", "/volume-snapshots/{snapshot_of_a}/", None, OWN),
    ("get", "/volume-snapshots/{snapshot_of_a}/live/", None, OWN),
    ("post", "/volume-snapshots/{snapshot_of_a}/volume/", None, page(302, 404, 302)),
    ("get", "/volume-snapshots/{snapshot_of_a}/image/", None, OWN),
    ("post", "/volume-snapshots/{snapshot_of_a}/image/", {"name": "s"}, page(200, 404, 200)),
    ("post", "/volume-snapshots/{snapshot_of_a}/delete/", None, page(302, 404, 302)),
    ("get", "/install-image/", None, EVERYONE),
    ("post", "/install-image/", {"name": "x"}, EVERYONE),  # the form's errors
    ("get", "/keypairs/new/", None, EVERYONE),
    ("post", "/keypairs/new/", {"name": "k2", "key_type": "ed25519"}, EVERYONE),
    ("get", "/keypairs/{keypair_a}/", None, OWN),
    ("post", "/keypairs/{keypair_a}/delete/", None, page(302, 404, 302)),
    # Instances, their actions and consoles: one's own
    ("get", "/instances/", None, EVERYONE),
    ("get", "/instances/new/", None, EVERYONE),
    ("post", "/instances/new/", {"image": "{image_a}"}, EVERYONE),  # errors: B can't see it
    ("get", "/instances/{instance_a}/", None, OWN),
    ("get", "/instances/{instance_a}/live/", None, OWN),
    ("get", "/instances/{instance_a}/tune/", None, OWN),
    ("post", "/instances/{instance_a}/tune/", {"cpu_weight": "x"}, page(200, 404, 200)),  # invalid
    ("get", "/instances/{instance_a}/resize/", None, OWN),
    ("post", "/instances/{instance_a}/resize/", {"instance_type": "x"}, page(200, 404, 200)),
    ("get", "/instances/{instance_a}/migrate/", None, page(403, 404, 200)),
    ("post", "/instances/{instance_a}/abort-migration/", {}, page(403, 404, 302)),
    ("get", "/instances/{instance_a}/image/", None, OWN),
    ("post", "/instances/{instance_a}/image/", {"name": "mine"}, page(200, 404, 200)),  # refused
    ("post", "/instances/{instance_a}/actions/stop/", None, page(302, 404, 302)),
    ("post", "/instances/{instance_a}/actions/reset_state/", None, page(403, 404, 302)),
    ("post", "/instances/{instance_a}/actions/explode/", None, page(400, 404, 400)),
    (
        "post",
        "/instances/{instance_a}/snapshots/{snapshot_a}/revert_snapshot/",
        None,
        page(302, 404, 302),
    ),
    ("get", "/instances/{instance_a}/console/", None, OWN),
    ("get", "/instances/{instance_a}/serial/", None, OWN),
    ("get", "/instances/{instance_a}/console-output/", None, OWN),
    ("get", "/instances/{instance_a}/diagnostics/", None, OWN),
    ("post", "/instances/{instance_a}/diagnostics/", None, page(302, 404, 302)),  # not running
    ("get", "/actions/", None, EVERYONE),
    ("get", "/actions/{action_a}/", None, OWN),
    ("get", "/actions/{action_a}/live/", None, OWN),
    # People and quotas: admins only
    ("get", "/users/", None, ADMINS),
    ("get", "/users/new/", None, ADMINS),
    ("post", "/users/new/", {"username": "dave"}, ADMINS),  # the password, shown once
    ("get", "/users/carol/", None, ADMINS),
    ("get", "/users/carol/edit/", None, ADMINS),
    ("post", "/users/carol/edit/", {"username": "carol"}, page(403, 403, 302)),
    ("post", "/users/carol/deactivate/", None, page(403, 403, 302)),
    ("post", "/users/carol/activate/", None, page(403, 403, 302)),
    ("post", "/users/carol/quota/", {"instances": 1}, page(403, 403, 302)),
    ("get", "/quotas/", None, ADMINS),
    (
        "post",
        "/quotas/",
        {"instances": 1, "vcpus": 1, "ram_mb": 64, "volumes": 1, "volume_gib": 1},
        page(403, 403, 302),
    ),
    # Rules: admins only
    ("get", "/rules/", None, ADMINS),
    ("get", "/rules/new/", None, ADMINS),
    ("post", "/rules/new/", {"name": "r"}, ADMINS),  # the form's errors
    ("post", "/rules/library/hugepages/enable/", None, ADMINS),  # the review
    ("get", "/rules/{default_rule}/", None, ADMINS),
    ("post", "/rules/{default_rule}/", {"name": "x"}, ADMINS),
    ("post", "/rules/{rule}/enable/", None, ADMINS),  # the review
    ("post", "/rules/{rule}/disable/", {"confirm": "1"}, page(403, 403, 302)),
    ("post", "/rules/{rule}/delete/", {"confirm": "1"}, page(403, 403, 302)),
    ("post", "/rules/{default_rule}/reset/", None, ADMINS),
    ("get", "/rules/{default_rule}/history/", None, ADMINS),
    ("post", "/rules/{default_rule}/rollback/1/", None, ADMINS),
    # The API: schema and root
    ("get", "/api/schema/", None, api(200, 200, 200, anon=200)),
    ("get", "/api/v1/", None, API_EVERYONE),
    # API: inventory
    ("get", "/api/v1/clusters/", None, API_EVERYONE),
    ("get", "/api/v1/clusters/demo/", None, API_EVERYONE),
    ("post", "/api/v1/clusters/", NEW_CLUSTER, api(403, 403, 201)),
    ("patch", "/api/v1/clusters/demo/", {"description": "d"}, api(403, 403, 200)),
    ("delete", "/api/v1/clusters/demo/", None, api(403, 403, 409)),  # its nodes
    ("post", "/api/v1/nodes/", NEW_NODE, api(403, 403, 201)),
    ("patch", "/api/v1/nodes/sim/", {"enabled": False}, api(403, 403, 200)),
    ("delete", "/api/v1/nodes/sim/", None, api(403, 403, 409)),  # its instances
    ("get", "/api/v1/nodes/", None, API_EVERYONE),  # empty for members
    ("get", "/api/v1/nodes/sim/", None, api(404, 404, 200)),
    ("post", "/api/v1/nodes/sim/check/", {}, api(404, 404, 202)),
    ("post", "/api/v1/nodes/sim/drain/", {}, api(404, 404, 202)),
    ("post", "/api/v1/nodes/sim/undrain/", {}, api(404, 404, 200)),
    ("get", "/api/v1/images/", None, API_EVERYONE),
    ("get", "/api/v1/images/{image_a}/", None, API_OWN),
    ("post", "/api/v1/images/register/", {"name": "r"}, api(403, 403, 400)),  # no file
    ("post", "/api/v1/images/upload/", {"name": "u"}, api(403, 403, 415)),  # JSON, not a file
    ("patch", "/api/v1/images/{image_a}/", {"is_public": True}, api(403, 403, 400)),  # no file
    ("delete", "/api/v1/images/{image_a}/", None, api(403, 403, 204)),
    ("post", "/api/v1/images/", {"name": "m", "from_instance": "{instance_a}"}, api(409, 400, 409)),
    ("get", "/api/v1/instance-types/", None, API_EVERYONE),
    ("get", "/api/v1/instance-types/m1.small/", None, API_EVERYONE),
    ("post", "/api/v1/instance-types/", NEW_TYPE, api(403, 403, 201)),
    ("patch", "/api/v1/instance-types/m1.small/", {"vcpus": 2}, api(403, 403, 200)),
    ("delete", "/api/v1/instance-types/m1.small/", None, api(403, 403, 409)),  # instances
    # API: keypairs (by name among one's own; admins name another's with ?owner=)
    ("get", "/api/v1/keypairs/", None, API_EVERYONE),
    ("post", "/api/v1/keypairs/", {"name": "k2"}, api(201, 201, 201)),
    ("get", "/api/v1/keypairs/main/", None, api(200, 200, 404)),
    ("get", "/api/v1/keypairs/main/?owner=bob", None, api(200, 404, 200)),
    ("delete", "/api/v1/keypairs/main/?owner=bob", None, api(204, 404, 204)),
    # API: instances, actions, consoles
    ("get", "/api/v1/instances/", None, API_EVERYONE),
    ("post", "/api/v1/instances/", {"image": "{image_a}"}, api(400, 400, 400)),
    ("get", "/api/v1/instances/{instance_a}/", None, API_OWN),
    ("post", "/api/v1/instances/{instance_a}/actions/", {"action": "stop"}, api(409, 404, 409)),
    ("post", "/api/v1/instances/{instance_a}/actions/", {"action": "x"}, api(400, 404, 400)),
    ("post", "/api/v1/instances/{instance_a}/console/", {"type": "serial"}, api(409, 404, 409)),
    (
        "post",
        "/api/v1/instances/{instance_a}/migration/",
        {"max_downtime_ms": 300},
        api(403, 404, 409),
    ),
    ("get", "/api/v1/instances/{instance_a}/console-output/", None, API_OWN),
    ("get", "/api/v1/instances/{instance_a}/diagnostics/", None, API_OWN),
    ("post", "/api/v1/instances/{instance_a}/diagnostics/", {}, api(409, 404, 409)),
    ("get", "/api/v1/instances/{instance_a}/snapshots/", None, API_OWN),
    # API: metrics
    ("get", "/api/v1/instances/{instance_a}/metrics/", None, API_OWN),
    ("get", "/api/v1/nodes/sim/metrics/", None, api(404, 404, 200)),
    # API: storage
    ("get", "/api/v1/nodes/sim/pools/", None, api(404, 404, 200)),
    ("get", "/api/v1/nodes/sim/unmanaged/", None, api(404, 404, 200)),
    ("get", "/api/v1/nodes/sim/unmanaged/{unmanaged}/", None, api(404, 404, 200)),
    ("post", "/api/v1/nodes/sim/unmanaged/{unmanaged}/adopt/", {}, api(404, 404, 400)),
    ("post", "/api/v1/nodes/sim/unmanaged/{unmanaged}/ignore/", None, api(404, 404, 200)),
    ("get", "/api/v1/volumes/", None, API_EVERYONE),
    ("post", "/api/v1/volumes/", {"size_gib": 1, "node": "sim"}, api(202, 202, 202)),
    ("get", "/api/v1/volumes/{volume_a}/", None, API_OWN),
    ("delete", "/api/v1/volumes/{volume_a}/", None, api(202, 404, 202)),
    (
        "post",
        "/api/v1/volumes/{volume_a}/attach/",
        {"instance": "{instance_a}"},
        api(409, 404, 409),
    ),
    ("post", "/api/v1/volumes/{volume_a}/detach/", {}, api(409, 404, 409)),
    ("get", "/api/v1/volumes/{volume_a}/snapshots/", None, API_OWN),
    ("post", "/api/v1/volumes/{volume_a}/snapshots/", {}, api(409, 404, 409)),  # test driver
    ("get", "/api/v1/volume-snapshots/", None, API_EVERYONE),
    ("get", "/api/v1/volume-snapshots/{snapshot_of_a}/", None, API_OWN),
    ("delete", "/api/v1/volume-snapshots/{snapshot_of_a}/", None, api(202, 404, 202)),
    ("get", "/api/v1/actions/", None, API_EVERYONE),
    ("get", "/api/v1/actions/{action_a}/", None, API_OWN),
    # API: quotas
    ("get", "/api/v1/quota/", None, API_EVERYONE),
    ("get", "/api/v1/quota-defaults/", None, API_ADMINS),
    ("patch", "/api/v1/quota-defaults/", {"vcpus": 4}, API_ADMINS),
    ("get", "/api/v1/users/", None, API_ADMINS),
    ("post", "/api/v1/users/", {"username": "dave"}, api(403, 403, 201)),
    ("get", "/api/v1/users/carol/", None, API_ADMINS),
    ("patch", "/api/v1/users/carol/", {"first_name": "Carol"}, API_ADMINS),
    ("delete", "/api/v1/users/carol/", None, api(403, 403, 409)),  # her instance
    ("get", "/api/v1/quotas/bob/", None, API_ADMINS),
    ("patch", "/api/v1/quotas/bob/", {"instances": 1}, API_ADMINS),
    ("delete", "/api/v1/quotas/bob/", None, API_ADMINS),
    # API: rules, admins only
    ("get", "/api/v1/rules/", None, API_ADMINS),
    ("post", "/api/v1/rules/", {"name": "r", "text": SHEET}, api(403, 403, 201)),
    ("get", "/api/v1/rules/{rule}/", None, API_ADMINS),
    ("put", "/api/v1/rules/{rule}/", {"name": "r2", "text": SHEET}, API_ADMINS),
    ("patch", "/api/v1/rules/{rule}/", {"description": "d"}, API_ADMINS),
    ("delete", "/api/v1/rules/{rule}/", None, api(403, 403, 204)),
    ("get", "/api/v1/rules/{rule}/revisions/", None, API_ADMINS),
    ("get", "/api/v1/rules/{rule}/diff/", None, API_ADMINS),
    ("post", "/api/v1/rules/{rule}/rollback/", {"revision": 1}, api(403, 403, 201)),
    ("post", "/api/v1/rules/{default_rule}/reset/", {}, api(403, 403, 201)),
    ("post", "/api/v1/rules/preview/", {"stylesheet": SHEET}, API_ADMINS),
    ("post", "/api/v1/rules/check/", {"stylesheet": SHEET}, api(403, 403, 400)),
    ("get", "/api/v1/rules/check/check-definition-none/", None, api(403, 403, 404)),
]


@pytest.fixture
def ids(world, admin):
    instance = world["instance_a"]
    action = Action.objects.create(
        instance=instance, kind="launch", owner=instance.owner, job_id="authz-1"
    )
    rule = Rule.objects.create(name="extra")
    rule.revise(SHEET, admin)
    volume = Volume.objects.create(
        owner=instance.owner, node=instance.node, size_gib=1, status="available"
    )
    unmanaged = UnmanagedDomain.objects.create(
        node=instance.node, uuid="00000000-0000-4000-8000-00000000000a", name="x", power_state="x"
    )
    return {
        "image_a": world["image_a"].ec2_id,
        "public_image": world["public_image"].ec2_id,
        "keypair_a": world["keypair_a"].pk,
        "instance_a": instance.ec2_id,
        "action_a": action.pk,
        "snapshot_a": Snapshot.objects.create(instance=instance, name="s").pk,
        "default_rule": pipeline.default_rule().pk,
        "rule": rule.pk,
        "unmanaged": unmanaged.pk,
        "node": instance.node.pk,
        "volume_a": volume.ec2_id,
        "snapshot_of_a": VolumeSnapshot.objects.create(
            volume=volume,
            volume_ec2_id=volume.ec2_id,
            owner=instance.owner,
            node=instance.node,
            size_gib=1,
            status="completed",
        ).ec2_id,
    }


@pytest.fixture
def personas(member_a, member_b, admin):
    return {"anon": None, "a": member_a, "b": member_b, "admin": admin}


def client_for(user, for_api):
    client = APIClient() if for_api else Client()
    if user:
        client.force_login(user)
    return client


def filled(value, ids):
    return value.format(**ids) if isinstance(value, str) else value


def cases():
    for method, url, body, expected in ROWS:
        assert set(expected) == set(PERSONAS), f"{method} {url} must say all four personas"
        for persona in PERSONAS:
            yield pytest.param(
                method, url, body, persona, expected[persona], id=f"{persona}-{method}-{url}"
            )


@pytest.mark.parametrize(("method", "url", "body", "persona", "status"), list(cases()))
def test_the_matrix(method, url, body, persona, status, ids, personas, queue, sim_node):
    sim_node.uri = f"test+unix:///{NODE_MARKER}"  # what only the node's own data says
    sim_node.save(update_fields=["uri"])
    for_api = url.startswith("/api/")
    client = client_for(personas[persona], for_api)
    data = {key: filled(value, ids) for key, value in (body or {}).items()}
    kwargs = {"format": "json"} if for_api else {}
    response = getattr(client, method)(filled(url, ids), data, **kwargs)
    assert response.status_code == status, response.content[:300]
    if persona in ("a", "b"):  # members see no node, on any page or answer that lists things
        assert NODE_MARKER not in response.content.decode(errors="replace"), (method, url)


def routes(patterns=None, prefix=""):
    """(route, URL name, methods or None) of every URL of the console, the admin aside."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif "format" not in str(pattern.pattern):  # DRF's .json twins of each route
            yield prefix + str(pattern.pattern), pattern.name, methods_of(pattern.callback)


def methods_of(view):
    """The HTTP methods an API view answers; None for a page (a function may serve both)."""
    if getattr(view, "actions", None):
        return set(view.actions) & set(METHODS)
    view_class = getattr(view, "cls", None)
    if view_class is None:
        return None
    return {method for method in METHODS if hasattr(view_class, method)}


METHODS = ("get", "post", "put", "patch", "delete")


def any_ids(url):
    """url's path with its {placeholders} filled in: enough to tell which route it is."""
    return re.sub(r"\{\w+\}", "1", url.split("?")[0])


def as_resolved(route):
    """A route of routes() as ResolverMatch.route spells it: Django drops the leading ^ of
    each included part."""
    return re.sub(r"(?<=/)\^", "", route)


def test_the_matrix_covers_every_url():
    """Keyed on route patterns, not URL names: two routes sharing a name cannot hide a
    missing row."""
    covered = {(resolve(any_ids(url)).route, method) for method, url, _, _ in ROWS}
    patterns = {route for route, _ in covered}
    missing = []
    for route, _name, methods in routes():
        route = as_resolved(route)
        if methods is None:
            if route not in patterns:
                missing.append(route)
        else:
            missing += [f"{m.upper()} {route}" for m in methods if (route, m) not in covered]
    assert missing == [], f"URLs without a row in the matrix: {missing}"


def test_id_guessing_looks_like_not_found(ids, personas):
    """Another's instance and one that does not exist answer alike, on pages and the API."""
    b = client_for(personas["b"], for_api=True)
    theirs = b.get(f"/api/v1/instances/{ids['instance_a']}/")
    nobody = b.get("/api/v1/instances/i-00000000/")
    assert (theirs.status_code, theirs.json()) == (nobody.status_code, nobody.json())


def launch(client, ids, **fields):
    body = {"image": ids["public_image"], "instance_type": "m1.small", **fields}
    return client.post("/api/v1/instances/", body, format="json")


@pytest.mark.parametrize(
    ("field", "theirs", "made_up"),
    [
        ("image", "image_a", "emi-0000FFFF"),
        ("keypair", None, "nobody-has-this-key"),
    ],
)
def test_launching_with_anothers_image_or_keypair_looks_like_not_found(
    ids, personas, field, theirs, made_up, queue
):
    b = client_for(personas["b"], for_api=True)
    theirs_value = ids[theirs] if theirs else "main"  # A's keypair is "main"; B's is deleted
    if field == "keypair":
        personas["b"].keypairs.all().delete()
    with_theirs = launch(b, ids, **{field: theirs_value})
    with_made_up = launch(b, ids, **{field: made_up})
    assert with_theirs.status_code == with_made_up.status_code == 400
    assert with_theirs.json()[field][0].replace(theirs_value, "X") == with_made_up.json()[field][
        0
    ].replace(made_up, "X")


@pytest.mark.parametrize(
    ("url", "made_up"),
    [
        ("/actions/{action_a}/", "/actions/999999/"),
        ("/keypairs/{keypair_a}/", "/keypairs/999999/"),
        ("/images/{image_a}/", "/images/emi-0000FFFF/"),
        ("/instances/{instance_a}/console/", "/instances/i-0000FFFF/console/"),
    ],
)
def test_pages_of_anothers_things_look_like_pages_that_do_not_exist(ids, personas, url, made_up):
    b = client_for(personas["b"], for_api=False)
    assert b.get(url.format(**ids)).status_code == b.get(made_up).status_code == 404


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "x" * 256}, "name", "no more than 255 characters"),
        ({"user_data": "a\x00b"}, "user_data", "Null characters are not allowed"),
        ({"user_data": "é" * 9000}, "user_data", "limited to 16 KiB"),
        ({"count": 0}, "count", "greater than or equal to 1"),
    ],
)
def test_bad_launch_input_gets_a_field_message_and_creates_nothing(
    ids, personas, fields, field, message, queue
):
    a = client_for(personas["a"], for_api=True)
    response = launch(a, ids, **fields)
    assert response.status_code == 400 and message in str(response.json()[field])
    assert personas["a"].instances.count() == 1  # the one of `world`


def test_unicode_names_and_user_data_are_kept(ids, personas, queue):
    a = client_for(personas["a"], for_api=True)
    response = launch(a, ids, name="сервер-☁", user_data="#cloud-config\n# 日本語\n")
    assert response.status_code == 202, response.json()
    assert response.json()["instances"][0]["name"] == "сервер-☁"
