"""/metrics for Prometheus: the libvirt exporter's names with Kumo's labels, from the
database's latest readings; Kumo's own series; who may scrape; bad settings."""

import time
from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from nodes import operations
from nodes.choices import ActionKind
from nodes.domainxml import pipeline
from nodes.metrics.models import Reading
from nodes.models import Action, ConsoleSession, Image, Instance
from tests.conftest import console_process

OUTSIDE = "203.0.113.7"  # TEST-NET-3: never loopback
TOKEN = "t0ken-for-the-prometheus-tests"
DOMAIN_SERIES = (
    "libvirt_domain_info_cpu_time_seconds_total",
    "libvirt_domain_info_maximum_memory_bytes",
    "libvirt_domain_info_memory_usage_bytes",
    "libvirt_domain_info_virtual_cpus",
)
DISK_SERIES = tuple(
    f"libvirt_domain_block_stats_{name}_total"
    for name in ("read_bytes", "read_requests", "write_bytes", "write_requests", "errors")
)
NIC_SERIES = tuple(
    f"libvirt_domain_interface_stats_{way}_{what}_total"
    for way in ("receive", "transmit")
    for what in ("bytes", "packets", "errors", "drops")
)


def counters(**changes):
    """A domain's counters as nodes/libvirt/stats.py reads them: one disk, one NIC."""
    nic = {f"{way}_{what}": 10 for way in ("rx", "tx") for what in ("bytes", "pkts")}
    nic |= {f"{way}_{what}": 1 for way in ("rx", "tx") for what in ("errs", "drop")}
    return {
        "cpu_time_ns": 2_500_000_000,
        "vcpus": 2,
        "vcpu_time_ns": [1_200_000_000, 1_300_000_000],
        "memory_max_kib": 262144,
        "memory_current_kib": 262144,
        "balloon": {"available_kib": 250000, "unused_kib": 50000, "rss_kib": 200000},
        "disks": {
            "vda": {"path": "/x/root.qcow2", "rd_bytes": 4096, "wr_bytes": 512, "rd_reqs": 8}
            | {"wr_reqs": 2, "errors": 0}
        },
        "nics": {"vnet0": nic},
    } | changes


def read(instance, taken_at=None, **changes):
    Reading.objects.update_or_create(
        kind="instance",
        subject_id=instance.pk,
        defaults={"taken_at": taken_at or time.time(), "counters": counters(**changes)},
    )


def scrape(client, **request):
    response = client.get("/metrics", **request)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parsed(response.content.decode())


def parsed(text):
    """{sample name: [(labels, value)]} of an exposition, by prometheus_client's parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def values_of(samples, name, **labels):
    return [value for got, value in samples.get(name, []) if labels.items() <= got.items()]


@pytest.fixture
def scraped(world, client):
    read(world["instance_a"])
    read(world["instance_b"], balloon={"rss_kib": 1000})  # no balloon driver in the guest
    return scrape(client)


def test_each_domain_series_has_the_exporters_name_and_kumos_labels(world, scraped):
    instance = world["instance_a"]
    kumo = {
        "instance_id": instance.ec2_id,
        "name": instance.name,
        "owner": "bob",
        "node": "sim",
        "cluster": "demo",
        "instance_type": "m1.small",
    }
    for name in DOMAIN_SERIES:
        assert [labels for labels, _ in scraped[name] if labels["owner"] == "bob"] == [kumo]
    for name, device in [(n, "vda") for n in DISK_SERIES] + [(n, "vnet0") for n in NIC_SERIES]:
        assert [labels for labels, _ in scraped[name] if labels["owner"] == "bob"] == [
            kumo | {"target_device": device}
        ], name


def test_the_values_are_the_readings_in_the_exporters_units(scraped):
    bob = {"owner": "bob"}
    assert values_of(scraped, "libvirt_domain_info_cpu_time_seconds_total", **bob) == [2.5]
    assert values_of(scraped, "libvirt_domain_info_maximum_memory_bytes", **bob) == [262144 * 1024]
    assert values_of(scraped, "libvirt_domain_info_virtual_cpus", **bob) == [2]
    assert values_of(scraped, "libvirt_domain_block_stats_read_bytes_total", **bob) == [4096]
    assert values_of(scraped, "libvirt_domain_interface_stats_receive_drops_total", **bob) == [1]


def test_memory_usage_is_what_the_balloon_reports_else_the_hosts_rss(scraped):
    usage = "libvirt_domain_info_memory_usage_bytes"
    assert values_of(scraped, usage, owner="bob") == [(250000 - 50000) * 1024]
    assert values_of(scraped, usage, owner="carol") == [1000 * 1024]


def test_a_stale_reading_and_a_deleted_instance_are_not_exported(world, client, settings):
    read(world["instance_a"], taken_at=time.time() - 3 * settings.KUMO_METRICS_INTERVAL - 1)
    deleted = world["instance_b"]
    deleted.vm_state, deleted.terminated_at = "deleted", timezone.now()
    deleted.save()
    read(deleted)
    samples = scrape(client)
    assert "libvirt_domain_info_cpu_time_seconds_total" not in samples
    read(world["instance_a"])  # fresh again
    samples = scrape(client)
    assert values_of(samples, "libvirt_domain_info_virtual_cpus", owner="bob") == [2]
    assert values_of(samples, "libvirt_domain_info_virtual_cpus", owner="carol") == []


def test_label_values_survive_quotes_backslashes_and_newlines(world, client):
    instance = world["instance_a"]
    instance.name = 'say "hi"\\\nbye'
    instance.save()
    read(instance, disks={'we"ird\\': {"rd_bytes": 1}})
    samples = scrape(client)
    [(labels, _)] = samples["libvirt_domain_info_virtual_cpus"]
    assert labels["name"] == 'say "hi"\\\nbye'
    [(labels, _)] = samples["libvirt_domain_block_stats_read_bytes_total"]
    assert labels["target_device"] == 'we"ird\\'


def test_the_queries_do_not_grow_with_the_instances(world, client, cluster, sim_node, small):
    read(world["instance_a"])
    with CaptureQueriesContext(connection) as one:
        scrape(client)
    for n in range(20):
        instance = Instance.objects.create(
            owner=world["instance_a"].owner,
            cluster=cluster,
            node=sim_node,
            image=world["public_image"],
            instance_type=small,
            name=f"many-{n}",
        )
        read(instance)
    with CaptureQueriesContext(connection) as many:
        samples = scrape(client)
    assert len(samples["libvirt_domain_info_virtual_cpus"]) == 21
    assert len(many) == len(one)


def test_kumos_own_series_count_nodes_actions_queue_and_consoles(
    world, client, queue, admin, django_capture_on_commit_callbacks
):
    instance = world["instance_a"]
    start = timezone.now()
    for n, (kind, seconds) in enumerate([("stop", 3), ("stop", 45), ("start", 700)]):
        Action.objects.create(
            instance=instance,
            kind=kind,
            job_id=f"prom-{n}",
            status="succeeded",
            started_at=start,
            finished_at=start + timedelta(seconds=seconds),
        )
    Action.objects.create(instance=instance, kind="reboot", job_id="prom-q")  # queued
    ConsoleSession.objects.create(instance=instance, user=admin, kind="vnc")
    ConsoleSession.objects.create(instance=instance, user=admin, kind="vnc", ended_at=start)
    with django_capture_on_commit_callbacks(execute=True):  # rq enqueues on commit
        queue.enqueue("os.getcwd")
    samples = scrape(client)
    assert values_of(samples, "kumo_nodes", status="unknown") == [1]
    assert values_of(samples, "kumo_nodes", status="up") == [0]
    assert values_of(samples, "kumo_node_up", node="sim", cluster="demo") == [0]
    assert values_of(samples, "kumo_actions", kind="stop", status="succeeded") == [2]
    assert values_of(samples, "kumo_actions", kind="reboot", status="queued") == [1]
    assert values_of(samples, "kumo_actions", kind="launch", status="failed") == [0]
    buckets = "kumo_action_duration_seconds_bucket"
    assert values_of(samples, buckets, kind="stop", le="1.0") == [0]
    assert values_of(samples, buckets, kind="stop", le="5.0") == [1]
    assert values_of(samples, buckets, kind="stop", le="60.0") == [2]
    assert values_of(samples, buckets, kind="stop", le="+Inf") == [2]
    assert values_of(samples, "kumo_action_duration_seconds_sum", kind="stop") == [48]
    assert values_of(samples, "kumo_action_duration_seconds_count", kind="start") == [1]
    assert values_of(samples, "kumo_queue_jobs", queue="default") == [1]
    assert values_of(samples, "kumo_console_sessions_open", kind="vnc") == [1]
    assert values_of(samples, "kumo_console_sessions_open", kind="serial") == [0]


def test_a_launch_counts_a_render(
    demo_sim, member_a, api, client, queue, run_jobs, django_capture_on_commit_callbacks
):
    api.force_authenticate(member_a)
    body = {"image": Image.objects.get(kind="machine").ec2_id, "instance_type": "m1.small"}
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/instances/", body, format="json").status_code == 202
    run_jobs()
    instance = Instance.objects.get(owner=member_a)
    assert instance.vm_state == "active"
    samples = scrape(client)
    assert values_of(samples, "kumo_rule_renders_total", purpose="launch") == [1]
    assert values_of(samples, "kumo_rule_render_failures_total", purpose="launch") == [0]
    assert values_of(samples, "kumo_action_duration_seconds_count", kind="launch") == [1]
    with django_capture_on_commit_callbacks(execute=True):
        operations.request_action(instance, ActionKind.TERMINATE, member_a)
    run_jobs()


def test_previews_count_renders_and_failures(world, admin, api, client):
    api.force_authenticate(admin)
    sheet = pipeline.BLANK_RULE
    broken = sheet.replace("<xsl:copy>", "<xsl:message terminate='yes'/><xsl:copy>")
    body = {"instance": world["instance_a"].ec2_id}
    for stylesheet, errors in ((sheet, False), (broken, True)):
        response = api.post("/api/v1/rules/preview/", body | {"stylesheet": stylesheet}, "json")
        assert response.status_code == 200 and bool(response.json()["errors"]) == errors
    samples = scrape(client)
    assert values_of(samples, "kumo_rule_renders_total", purpose="preview") == [2]
    assert values_of(samples, "kumo_rule_render_failures_total", purpose="preview") == [1]
    assert values_of(samples, "kumo_rule_renders_total", purpose="launch") == [0]


def test_redis_down_leaves_the_queue_out_and_nothing_else(world, client, settings):
    read(world["instance_a"])
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    samples = scrape(client)
    assert "kumo_queue_jobs" not in samples
    assert values_of(samples, "kumo_nodes", status="unknown") == [1]
    assert values_of(samples, "libvirt_domain_info_virtual_cpus", owner="bob") == [2]


# Who may scrape -------------------------------------------------------------------------


def test_loopback_may_scrape_by_default(db, client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200


def test_another_address_without_the_token_is_401(db, client, settings):
    settings.KUMO_METRICS_TOKEN = TOKEN
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong-token-of-some-length"}):
        response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, **headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"libvirt_" not in response.content and b"kumo_" not in response.content


def test_the_token_lets_any_address_scrape(db, client, settings):
    settings.KUMO_METRICS_TOKEN = TOKEN
    samples = scrape(client, REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert "kumo_nodes" in samples


def test_no_token_is_set_so_none_is_accepted(db, client, settings):
    settings.KUMO_METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401


def test_the_allow_list_takes_networks(db, client, settings):
    settings.KUMO_METRICS_ALLOW = [ip_network("203.0.113.0/24"), ip_network("2001:db8::/32")]
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


def test_behind_a_trusted_proxy_the_forwarded_client_is_checked(db, client, settings):
    """A reverse proxy on loopback must not make every client a loopback one."""
    settings.KUMO_TRUSTED_PROXIES = ["127.0.0.1"]
    outside = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OUTSIDE)
    assert outside.status_code == 401
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert local.status_code == 200


def test_metrics_is_for_reading_only(db, client):
    assert client.post("/metrics").status_code == 405


# Settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KUMO_METRICS_ALLOW", "127.0.0.1,prometheus.lan", "'prometheus.lan' is not an address"),
        ("KUMO_METRICS_ALLOW", "10.0.0.0/33", "'10.0.0.0/33' is not an address"),
        ("KUMO_METRICS_ALLOW", "10.0.0.1/8", "has host bits set"),
        ("KUMO_METRICS_TOKEN", "tiny-tok3n", "KUMO_METRICS_TOKEN is 10 characters long"),
    ],
)
def test_a_bad_metrics_setting_fails_the_check(name, value, message, tmp_path):
    result = console_process(["manage.py", "check"], tmp_path, **{name: value})
    assert result.returncode != 0
    assert "kumo.E001" in result.stderr and message in result.stderr
    if name == "KUMO_METRICS_TOKEN":
        assert value not in result.stderr  # a secret is never shown


def test_good_metrics_settings_pass_the_check(tmp_path):
    result = console_process(
        ["manage.py", "check"],
        tmp_path,
        KUMO_METRICS_ALLOW="10.0.0.0/8, 192.0.2.1, ::1",
        KUMO_METRICS_TOKEN=TOKEN,
    )
    assert result.returncode == 0, result.stderr


def test_an_allow_list_of_none_allows_no_address(tmp_path):
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.KUMO_METRICS_ALLOW, s.SETTINGS_ERRORS)"
    result = console_process(["-c", code], tmp_path, KUMO_METRICS_ALLOW="none")
    assert result.stdout.split() == ["[]", "[]"], result.stderr
