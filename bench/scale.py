"""Benchmark the lists and the dashboard of a large cloud.

Prints one JSON line:
{"database", "instances", "actions", "list_page_p50_ms", "list_api_p50_ms", "dashboard_p50_ms",
 "filtered_p50_ms", "queries_per_list"}

On the demo cloud with INSTANCES instances (a tenth of them terminated, a member owning one
in a hundred, an address each) and ACTIONS_PER_HOUR actions an hour over HOURS of history:
- list_page: the admin's instance list page (/instances/);
- list_api: the admin's GET /api/v1/instances/ (the first page, 50 rows);
- dashboard: the admin's dashboard;
- filtered: the instance list filtered by state and node, then searched by name;
- queries_per_list: the most queries the list page or the API list makes (tests/test_scale.py
  asserts that they do not grow with the rows shown).
Target: each p50 ≤ 100 ms, queries constant. `--database-url postgres://…` runs it on
PostgreSQL (a database of that name is dropped and created afresh).
"""

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

INSTANCES = 100_000
ACTIONS_PER_HOUR = 1_000
HOURS = 24 * 7
ROUNDS = 15
BATCH = 5_000


def populate():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from nodes.choices import ActionKind, ActionStatus
    from nodes.models import Action, Image, Instance, InstanceAddress, InstanceType, Node

    member = get_user_model().objects.get(username="member")
    admin = get_user_model().objects.get(username="admin")
    node = Node.objects.get(name="sim")
    image = Image.objects.filter(kind="machine").first()
    kind = InstanceType.objects.first()
    now = timezone.now()
    for model in (Instance, Action):  # history, not rows all made now
        model._meta.get_field("created_at").auto_now_add = False
    for start in range(0, INSTANCES, BATCH):
        rows = [
            instance(n, now, member, admin, node, image, kind) for n in range(start, start + BATCH)
        ]
        Instance.objects.bulk_create(rows, batch_size=1000)
    ids = Instance.objects.values_list("pk", flat=True)
    InstanceAddress.objects.bulk_create(
        (address(pk, now) for pk in ids.iterator()), batch_size=BATCH
    )
    total = ACTIONS_PER_HOUR * HOURS
    first = min(ids)
    for start in range(0, total, BATCH):
        Action.objects.bulk_create(
            Action(
                instance_id=first + n % INSTANCES,
                kind=ActionKind.REBOOT,
                owner=admin,
                status=ActionStatus.SUCCEEDED,
                job_id=f"bench-{n}",
                created_at=now - timedelta(hours=HOURS * n / total),
            )
            for n in range(start, min(total, start + BATCH))
        )
    return total


def instance(n, now, member, admin, node, image, kind):
    from nodes.choices import PowerState, VmState
    from nodes.models import Instance

    terminated = n % 10 == 0
    return Instance(
        ec2_id=f"i-{n:08x}",
        reservation_id=f"r-{n:08x}",
        name=f"web-{n}",
        owner=member if n % 100 == 0 else admin,
        cluster=node.cluster,
        node=None if terminated else node,
        image=image,
        instance_type=kind,
        vm_state=VmState.DELETED if terminated else VmState.ACTIVE,
        power_state=PowerState.NOSTATE if terminated else PowerState.RUNNING,
        terminated_at=now if terminated else None,
        created_at=now - timedelta(hours=HOURS * (1 - n / INSTANCES)),
        launched_at=now,
    )


def address(pk, now):
    from nodes.models import InstanceAddress

    octets = [pk >> 16 & 255, pk >> 8 & 255, pk & 255]
    return InstanceAddress(
        instance_id=pk,
        mac="52:54:00:" + ":".join(f"{octet:02x}" for octet in octets),
        ip="10." + ".".join(map(str, octets)),
        prefix=24,
        family="ipv4",
        source="lease",
        seen_at=now,
    )


def p50_ms(client, url, **headers):
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return round(statistics.median(times), 1)


def queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL instead of a throw-away SQLite")
    options = parser.parse_args()
    _django.setup(options.database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from nodes.listing import refresh_planner_statistics
    from nodes.models import Node

    actions = populate()
    refresh_planner_statistics()  # as the watcher does every hour
    sim = Node.objects.get(name="sim").pk
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="admin"))
    figures = {
        "database": connection.vendor,
        "instances": INSTANCES,
        "actions": actions,
        "list_page_p50_ms": p50_ms(client, "/instances/"),
        "list_api_p50_ms": p50_ms(client, "/api/v1/instances/"),
        "dashboard_p50_ms": p50_ms(client, "/"),
        "filtered_p50_ms": p50_ms(client, f"/instances/?vm_state=active&node={sim}&q=web-4711"),
        "queries_per_list": max(
            queries(client, "/instances/"), queries(client, "/api/v1/instances/")
        ),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
