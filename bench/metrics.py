"""Benchmark the metrics pipeline.

Prints one JSON line:
{"ingest_10k_s", "ingest_10k_pg_s", "series_day_p50_ms", "scrape_10k_p50_ms",
 "bytes_per_instance_year", "rows_per_instance_year", "bulk_call_ms"}

- ingest_10k: the slowest interval of 10,000 running instances on 10 nodes (synthetic
  bulk-stats counters through collector.ingest, the collector's own code, a thread per
  node as the collector runs them), with rates and the roll-up of every tier at a week's
  end,
  on SQLite and (ingest_10k_pg, null when none answers) on PostgreSQL at BENCH_DATABASE_URL
  or postgres://127.0.0.1/kumo_bench (dropped and made afresh);
- series_day_p50: GET /api/v1/instances/{id}/metrics/?timeframe=day, p50 of 50;
- scrape_10k_p50: GET /metrics with those 10,000 instances, p50 of 10;
- bytes/rows_per_instance_year: what one instance's history holds after a simulated year
  (bounded by the tiers' rings);
- bulk_call: one getAllDomainStats call on a private libvirt daemon's QEMU driver running
  BULK_GUESTS small TCG guests (nodes/libvirt/private.py; the machine's own daemon is not used).
Targets: ingest ≤ 1 s (10 % of the interval); series ≤ 20 ms; scrape ≤ 500 ms.
"""

import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402

NODES, PER_NODE = 10, 1000
INTERVAL = 10
BULK_GUESTS = 4
POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgres://127.0.0.1/kumo_bench")


def counters(index, step):
    """A domain's counters at interval `step`, growing as a busy guest's do."""
    seconds = step * INTERVAL
    return {
        "cpu_time_ns": int((index + seconds * 0.5) * 1e9),
        "vcpus": 1,
        "vcpu_time_ns": [int(seconds * 0.5e9)],
        "memory_max_kib": 262144,
        "memory_current_kib": 262144,
        "balloon": {"available_kib": 250000, "unused_kib": 100000, "rss_kib": 200000},
        "disks": {
            "vda": {
                "rd_bytes": seconds * 4096,
                "wr_bytes": seconds * 1024,
                "rd_reqs": seconds,
                "wr_reqs": seconds,
                "errors": 0,
                "capacity": 5 << 30,
                "allocation": 1 << 30,
                "path": "/d",
            }
        },
        "nics": {
            "vnet0": {
                "rx_bytes": seconds * 900,
                "tx_bytes": seconds * 300,
                "rx_pkts": seconds,
                "tx_pkts": seconds,
                "rx_errs": 0,
                "tx_errs": 0,
                "rx_drop": 0,
                "tx_drop": 0,
            }
        },
    }


def node_counters(step):
    return {
        "cpus": 64,
        "memory_total_kib": 256 << 20,
        "memory_free_kib": 100 << 20,
        "cpu_busy_ns": step * 10**11,
        "cpu_total_ns": step * 64 * 10**10,
    }


def build_cloud():
    """10 nodes of 1,000 running instances each; {node: [uuid, …]}."""
    from django.contrib.auth.models import User

    from nodes.choices import DomainType, PowerState, VmState
    from nodes.models import Cluster, Image, Instance, InstanceType, Node

    owner = User.objects.get(username="admin")
    cluster = Cluster.objects.first()
    image, size = Image.objects.filter(kind="machine").first(), InstanceType.objects.first()
    cloud = {}
    for n in range(NODES):
        node = Node.objects.create(
            cluster=cluster, name=f"bench{n}", uri="test:///default", domain_type=DomainType.TEST
        )
        instances = [
            Instance(
                owner=owner,
                cluster=cluster,
                node=node,
                image=image,
                instance_type=size,
                ec2_id=f"i-{n:02d}{i:06x}",
                reservation_id=f"r-{n:02d}{i:06x}",
                name=f"vm{n}-{i}",
                vm_state=VmState.ACTIVE,
                power_state=PowerState.RUNNING,
            )
            for i in range(PER_NODE)
        ]
        Instance.objects.bulk_create(instances, batch_size=500)
        cloud[node] = [str(u) for u in node.instances.values_list("uuid", flat=True)]
    return cloud


def ingest_in_thread(node, readings, unix_time, remembered):
    from django.db import close_old_connections

    from nodes.metrics.collector import ingest

    try:
        ingest(node, *readings, unix_time, remembered)
    finally:
        close_old_connections()


def ingest_interval(pool, cloud, remembered, step, unix_time):
    """Seconds to ingest one interval of every node, each in a thread of the pool as the
    collector does, with what it remembers of the node's previous interval (the counters
    are made beforehand)."""
    readings = {
        node: (node_counters(step), {u: counters(i, step) for i, u in enumerate(uuids)})
        for node, uuids in cloud.items()
    }
    started = time.perf_counter()
    done = [
        pool.submit(ingest_in_thread, node, readings[node], unix_time, remembered[node.pk])
        for node in cloud
    ]
    for future in done:
        future.result()
    return time.perf_counter() - started


def timed_ingest(cloud):
    """The slowest of six intervals after the first (which has no rates yet): one of them
    ends a week (and so a minute, a half hour and six hours), which rolls every tier up."""
    from nodes.metrics.collector import MAX_PARALLEL, Remembered
    from nodes.metrics.series import TIERS

    remembered = {node.pk: Remembered() for node in cloud}
    now = TIERS[-1].period_start(time.time()) - 4 * INTERVAL + 5
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL) as pool:
        ingest_interval(pool, cloud, remembered, 1, now)
        steps = range(2, 8)
        return max(ingest_interval(pool, cloud, remembered, s, now + s * INTERVAL) for s in steps)


def p50_ms(call, rounds):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def series_day_ms(instance_id):
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")  # one of the default ALLOWED_HOSTS
    client.force_login(User.objects.get(username="admin"))
    url = f"/api/v1/instances/{instance_id}/metrics/?timeframe=day"

    def get():
        assert client.get(url).status_code == 200

    return p50_ms(get, 50)


def scrape_ms():
    """The readings are made fresh first: the ingest's are in simulated time, which a slow
    ingest leaves older than the three intervals that /metrics serves."""
    from django.test import Client

    from nodes.metrics.models import Reading

    Reading.objects.update(taken_at=time.time())
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.0.0.1")  # KUMO_METRICS_ALLOW

    def get():
        response = client.get("/metrics")
        assert response.status_code == 200, response.status_code
        return response.content

    assert get().count(b"\nlibvirt_domain_info_virtual_cpus{") == NODES * PER_NODE
    return p50_ms(get, 10)


def year_of_history():
    """(bytes, rows) of one instance's points after a simulated year: a sample every half
    hour, the last day every minute, each rolled up as the collector does, so that every
    tier's ring is as full as a year leaves it."""
    from django.db import connection

    from nodes.metrics import history
    from nodes.metrics.models import Point
    from nodes.metrics.series import SERIES, Subject

    subject, figures = 10**9, dict.fromkeys(SERIES, 12345.6)
    first_day = int(time.time()) // 86400 * 86400 - 365 * 86400
    previous = None
    for day in range(365):
        start = first_day + day * 86400
        every = 60 if day == 364 else 1800
        for t in range(start, start + 86400, every):
            history.record(Subject.INSTANCE, {subject: figures}, t)
            if previous is not None:
                history.roll_up(Subject.INSTANCE, [subject], previous, t)
            previous = t
    rows = Point.objects.filter(subject_id=subject).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = %s", [Point._meta.db_table])
        table_bytes = cursor.fetchone()[0]
    return round(table_bytes * rows / Point.objects.count()), rows


def bulk_call_ms():
    from nodes.libvirt.private import PrivateLibvirtd
    from nodes.libvirt.stats import domain_counters

    daemon = PrivateLibvirtd("m")
    daemon.start()
    try:
        connection = daemon.connect()
        for n in range(BULK_GUESTS):  # no disk, no NIC: SeaBIOS finds nothing and waits
            connection.createXML(
                f"<domain type='qemu'><name>bench-{n}</name><memory unit='MiB'>32</memory>"
                "<os><type arch='x86_64'>hvm</type></os><devices><memballoon model='virtio'/>"
                "</devices></domain>",
                0,
            )
        return p50_ms(lambda: domain_counters(connection), 20)
    finally:
        daemon.stop()


def on_postgres():
    """ingest_10k on PostgreSQL, in a process of its own (Django picks one database)."""
    import subprocess

    env = {**os.environ, "BENCH_ONLY_INGEST": POSTGRES}
    done = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True)
    return json.loads(done.stdout)["ingest_10k_s"] if done.returncode == 0 else None


def main():
    only_ingest = os.environ.get("BENCH_ONLY_INGEST")
    _django.setup(database_url=only_ingest)
    cloud = build_cloud()
    ingest_s = timed_ingest(cloud)
    if only_ingest:
        print(json.dumps({"ingest_10k_s": round(ingest_s, 3)}))
        return
    from nodes.models import Instance

    result = {
        "ingest_10k_s": round(ingest_s, 3),
        "ingest_10k_pg_s": on_postgres(),
        "series_day_p50_ms": round(series_day_ms(Instance.objects.last().ec2_id), 2),
        "scrape_10k_p50_ms": round(scrape_ms(), 1),
    }
    bytes_year, rows_year = year_of_history()
    result |= {"bytes_per_instance_year": bytes_year, "rows_per_instance_year": rows_year}
    result["bulk_call_ms"] = round(bulk_call_ms(), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
