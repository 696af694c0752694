"""Lists that stay fast at any size: keyset pages in the API, bounded counts, searches over
indexes, and as many queries for a page of 3 rows as for a page of 30 (bench/scale.py
measures the times at 100,000 instances)."""

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nodes import listing
from nodes.api import paging
from nodes.choices import ActionKind
from nodes.models import Action, Instance, InstanceAddress


def more_instances(world, count):
    first = world["instance_a"]
    for n in range(count):
        instance = Instance.objects.create(
            owner=first.owner,
            cluster=first.cluster,
            node=first.node,
            image=first.image,
            instance_type=first.instance_type,
            name=f"web-{n}",
        )
        InstanceAddress.objects.create(
            instance=instance,
            mac=f"52:54:00:00:00:{n:02x}",
            network="default",
            ip=f"10.0.0.{n + 1}",
            prefix=24,
            family="ipv4",
            source="lease",
            seen_at=timezone.now(),
        )
        Action.objects.create(
            instance=instance, kind=ActionKind.LAUNCH, job_id=f"job-{instance.ec2_id}"
        )


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


LISTS = ["/instances/", "/actions/", "/images/", "/nodes/", "/volumes/", "/users/"]
API_LISTS = ["/api/v1/instances/", "/api/v1/actions/", "/api/v1/images/", "/api/v1/nodes/"]


@pytest.mark.parametrize("url", LISTS + API_LISTS)
def test_a_list_makes_as_many_queries_for_30_rows_as_for_3(url, world, admin_client):
    more_instances(world, 1)
    few = queries(admin_client, url)
    more_instances(world, 28)
    assert queries(admin_client, url) == few


def test_api_pages_walk_the_whole_list_once_in_order_while_rows_are_added(world, api, admin):
    more_instances(world, 5)
    api.force_authenticate(admin)
    everyone = [row["id"] for row in api.get("/api/v1/instances/?limit=100").json()["results"]]
    seen, url = [], "/api/v1/instances/?limit=2"
    while url:
        body = api.get(url).json()
        assert body["limit"] == 2 and body["count_exact"]
        seen += [row["id"] for row in body["results"]]
        if len(seen) == 2:
            more_instances(world, 1)  # newer: before the cursor, never on a later page
        url = body["next"]
    assert seen == everyone


def test_an_api_list_says_its_shape(world, api, admin):
    api.force_authenticate(admin)
    body = api.get("/api/v1/instances/").json()
    assert set(body) == {"count", "count_exact", "limit", "next", "results"}
    assert body["limit"] == paging.DEFAULT_LIMIT and body["next"] is None


def test_a_limit_past_the_most_is_lowered_and_said(world, api, admin):
    api.force_authenticate(admin)
    body = api.get("/api/v1/instances/?limit=100000").json()
    assert body["limit"] == paging.MAX_LIMIT
    assert f"At most {paging.MAX_LIMIT}" in body["limit_lowered"]
    for bad in ["0", "-3", "many"]:
        answer = api.get(f"/api/v1/instances/?limit={bad}")
        assert answer.status_code == 400 and "limit" in answer.json()


def cursor_of(api, url):
    return api.get(url).json()["next"].split("cursor=")[1].split("&")[0]


def test_a_forged_cursor_is_a_400(world, api, admin):
    more_instances(world, 3)
    api.force_authenticate(admin)
    cursor = cursor_of(api, "/api/v1/instances/?limit=1")
    for forged in ["nonsense", cursor[:-2] + "xx"]:
        answer = api.get(f"/api/v1/instances/?limit=1&cursor={forged}")
        assert answer.status_code == 400
        assert answer.json() == {"cursor": ["Not a cursor Kumo gave."]}


def test_a_cursor_of_another_list_is_a_400(world, api, admin):
    more_instances(world, 3)
    api.force_authenticate(admin)
    cursor = cursor_of(api, "/api/v1/actions/?limit=1")
    for elsewhere in [
        f"/api/v1/instances/?cursor={cursor}",
        f"/api/v1/actions/?status=failed&cursor={cursor}",
    ]:
        answer = api.get(elsewhere)
        assert answer.status_code == 400
        assert "another list" in answer.json()["cursor"][0]


def test_an_expired_cursor_is_a_400(world, api, admin, monkeypatch):
    more_instances(world, 3)
    api.force_authenticate(admin)
    cursor = cursor_of(api, "/api/v1/instances/?limit=1")
    monkeypatch.setattr(paging, "CURSOR_MAX_AGE_S", -1)
    answer = api.get(f"/api/v1/instances/?limit=1&cursor={cursor}")
    assert answer.status_code == 400 and "expired" in answer.json()["cursor"][0]


def test_a_cursor_signed_for_another_length_of_order_is_refused(world, api, admin):
    api.force_authenticate(admin)
    scope = ["/api/v1/instances/", []]
    cursor = signing.dumps({"list": scope, "after": [1]}, salt=paging.SALT)
    assert api.get(f"/api/v1/instances/?cursor={cursor}").status_code == 400


def test_an_unknown_filter_is_a_400_naming_the_known_ones(world, api, admin):
    api.force_authenticate(admin)
    answer = api.get("/api/v1/actions/?colour=red")
    assert answer.status_code == 400
    assert answer.json() == {
        "colour": [
            "Not a filter of this list; it takes action, cursor, format, image, instance, "
            "limit, status, volume."
        ]
    }


def test_a_large_count_is_remembered_and_said_to_be_so(world, api, admin, monkeypatch):
    monkeypatch.setattr(listing, "EXACT_COUNT_UP_TO", 3)
    cache.clear()
    more_instances(world, 4)
    api.force_authenticate(admin)
    body = api.get("/api/v1/instances/").json()
    assert (body["count"], body["count_exact"]) == (6, False)
    more_instances(world, 1)
    assert api.get("/api/v1/instances/").json()["count"] == 6  # not counted again yet
    cache.clear()
    assert api.get("/api/v1/instances/").json()["count"] == 7


def test_a_large_page_list_says_its_count_is_approximate(world, admin_client, monkeypatch):
    monkeypatch.setattr(listing, "EXACT_COUNT_UP_TO", 3)
    monkeypatch.setattr("nodes.views.instances.InstanceList.paginate_by", 2)
    cache.clear()
    more_instances(world, 4)
    assert "about 6" in admin_client.get("/instances/").content.decode()


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("WEB-1", {"web-1"}),
        ("web-1", {"web-1"}),
        ("10.0.0.2", {"web-1"}),
        ("52:54:00:00:00:0", {"web-0", "web-1", "web-2"}),
    ],
)
def test_the_instance_search_finds_what_starts_with_it(world, admin_client, query, found):
    more_instances(world, 3)
    page = admin_client.get("/instances/", {"q": query}).content.decode()
    shown = {f"web-{n}" for n in range(3) if f">web-{n}<" in page}
    assert shown == found


def test_the_instance_search_finds_an_id_or_an_owner(world, admin_client):
    instance = world["instance_a"]
    for query in [
        instance.ec2_id[:6].upper(),
        instance.reservation_id,
        instance.owner.username[:3].upper(),
    ]:
        page = admin_client.get("/instances/", {"q": query}).content.decode()
        assert instance.ec2_id in page, query


def test_admins_filter_instances_by_node_and_type(world, admin_client, member_client):
    node, kind = world["instance_a"].node, world["instance_a"].instance_type
    page = admin_client.get("/instances/", {"node": node.pk, "instance_type": kind.pk})
    assert world["instance_a"].ec2_id in page.content.decode()
    assert 'name="node"' not in member_client.get("/instances/").content.decode()


def test_planner_statistics_are_refreshed(db):
    listing.refresh_planner_statistics()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_stat1")
            assert cursor.fetchone()[0] > 0


def test_a_search_ending_in_the_last_character_there_is_finds_what_it_can(world, admin_client):
    assert admin_client.get("/instances/", {"q": "web" + chr(0x10FFFF)}).status_code == 200
    assert admin_client.get("/instances/", {"q": chr(0x10FFFF)}).status_code == 200


def test_a_null_character_in_a_list_filter_is_a_400(world, api, admin):
    api.force_authenticate(admin)
    answer = api.get("/api/v1/actions/?instance=i-%00")
    assert answer.status_code == 400
    assert answer.json() == {"instance": ["Null characters are not allowed."]}
