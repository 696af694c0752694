"""Figures from counters, their consolidation into tiers, and the metrics API, on computed
samples."""

import pytest

from nodes.metrics import history
from nodes.metrics.collector import prune
from nodes.metrics.figures import instance_figures, node_figures
from nodes.metrics.models import Point, Reading
from nodes.metrics.series import INSTANCE_SERIES, TIERS, Subject

T0 = 1_800_000_000 // 86400 * 86400  # midnight, so that every tier's step starts here


def counters(cpu_s, rd_bytes=0, rx_bytes=0, vcpus=2, balloon=None):
    return {
        "cpu_time_ns": int(cpu_s * 1e9),
        "vcpus": vcpus,
        "memory_current_kib": 1024 * 1024,
        "balloon": balloon if balloon is not None else {"rss_kib": 300 * 1024},
        "disks": {"vda": {"rd_bytes": rd_bytes, "wr_bytes": 0, "rd_reqs": 0, "wr_reqs": 0}},
        "nics": {"vnet0": {"rx_bytes": rx_bytes, "tx_bytes": 0}},
    }


def test_cpu_percent_is_the_share_of_the_instances_vcpus():
    figures = instance_figures(counters(100), counters(105), 10)
    assert figures["cpu_percent"] == pytest.approx(25)  # 5 s of CPU over 10 s of 2 vCPUs


def test_a_counter_reset_gives_no_rate_rather_than_a_negative_one():
    figures = instance_figures(counters(500, rd_bytes=9000), counters(2, rd_bytes=100), 10)
    assert figures["cpu_percent"] is None
    assert figures["disk_read_bytes_per_s"] is None


def test_disk_and_network_rates_are_per_second():
    figures = instance_figures(counters(1, 0, 0), counters(1, 4000, 1000), 10)
    assert figures["disk_read_bytes_per_s"] == 400
    assert figures["net_rx_bytes_per_s"] == 100


def test_memory_comes_from_the_balloon_when_the_guest_reports_it():
    guest = {"available_kib": 1000, "unused_kib": 400, "rss_kib": 900}
    figures = instance_figures(None, counters(1, balloon=guest), None)
    assert (figures["memory_used_bytes"], figures["memory_source"]) == (600 * 1024, "balloon")


def test_memory_falls_back_to_the_host_process_and_says_so():
    figures = instance_figures(None, counters(1), None)
    assert (figures["memory_used_bytes"], figures["memory_source"]) == (300 * 1024**2, "rss")


def test_a_first_reading_has_no_rates():
    figures = instance_figures(None, counters(1), None)
    assert figures["cpu_percent"] is None and figures["net_rx_bytes_per_s"] is None


def test_a_node_carries_the_load_of_its_instances():
    instance = instance_figures(counters(0, 0), counters(20, 1000), 10)  # two full vCPUs
    node = {"cpus": 4, "memory_total_kib": 1000, "memory_free_kib": 250}
    busy = node | {"cpu_busy_ns": 10 * 10**9, "cpu_total_ns": 40 * 10**9}
    figures = node_figures(node | {"cpu_busy_ns": 0, "cpu_total_ns": 0}, busy, 10, [instance])
    assert figures["cpu_percent"] == 25
    assert figures["instances_cpu_percent"] == 50
    assert figures["memory_used_bytes"] == 750 * 1024
    assert figures["disk_read_bytes_per_s"] == 100
    assert figures["running_instances"] == 1


def series_of(subject_id, timeframe, cf, now, name="cpu_percent"):
    body = history.series(Subject.INSTANCE, subject_id, [name], timeframe, cf, now)
    return dict(map(tuple, body["series"][name]))


@pytest.mark.django_db
def test_samples_of_a_minute_become_one_point_of_their_average_and_maximum():
    for offset, value in ((0, 10.0), (10, 30.0), (20, 20.0)):
        history.record(Subject.INSTANCE, {7: {"cpu_percent": value}}, T0 + offset)
    assert series_of(7, "hour", "average", T0 + 30)[T0] == pytest.approx(20)
    assert series_of(7, "hour", "max", T0 + 30)[T0] == 30


def record_half_an_hour(subject):
    """Two samples a minute for 30 minutes from T0, rolled up as the collector does after
    each; their average is 15, their maximum 30."""
    previous = None
    for minute in range(30):
        for second in (0, 30):
            at = T0 + 60 * minute + second
            history.record(Subject.INSTANCE, {subject: {"cpu_percent": minute + second / 30}}, at)
            if previous is not None:
                history.roll_up(Subject.INSTANCE, [subject], previous, at)
            previous = at
    return previous


@pytest.mark.django_db
def test_finished_minutes_roll_up_into_half_hours():
    last = record_half_an_hour(7)
    assert series_of(7, "week", "average", last)[T0] == pytest.approx(14.5)  # 29 minutes over
    history.roll_up(Subject.INSTANCE, [7], last, T0 + 1800)
    assert Point.objects.get(tier=1).samples == 60
    assert series_of(7, "week", "average", T0 + 1800)[T0] == pytest.approx(15)
    assert series_of(7, "week", "max", T0 + 1800)[T0] == 30


@pytest.mark.django_db
def test_a_finished_period_rolls_into_the_next_coarser_tier():
    last = record_half_an_hour(7)
    history.roll_up(Subject.INSTANCE, [7], last, T0 + 1800)
    assert series_of(7, "year", "max", T0 + 1800)[T0] == 30
    assert not Point.objects.filter(tier=3).exists()  # its six hours are still running
    six_hours = T0 + 6 * 3600
    history.roll_up(Subject.INSTANCE, [7], T0 + 1800, six_hours)
    week_start = T0 // (7 * 86400) * 7 * 86400
    assert series_of(7, "decade", "average", six_hours)[week_start] == pytest.approx(15)


@pytest.mark.django_db
def test_a_minute_still_running_is_not_rolled_up():
    history.record(Subject.INSTANCE, {7: {"cpu_percent": 1.0}}, T0 + 60)
    history.roll_up(Subject.INSTANCE, [7], T0, T0 + 60)
    assert not Point.objects.filter(tier=1).exists()


@pytest.mark.django_db
def test_a_missed_minute_is_a_gap_not_a_zero():
    history.record(Subject.INSTANCE, {7: {"cpu_percent": 5.0}}, T0)
    history.record(Subject.INSTANCE, {7: {"cpu_percent": 7.0}}, T0 + 120)
    points = series_of(7, "hour", "average", T0 + 120)
    assert (points[T0], points[T0 + 60], points[T0 + 120]) == (5, None, 7)


@pytest.mark.django_db
def test_a_sample_without_a_value_leaves_the_points_figure_alone():
    history.record(Subject.INSTANCE, {7: {"cpu_percent": 40.0}}, T0)
    history.record(Subject.INSTANCE, {7: {"cpu_percent": None}}, T0 + 10)  # a counter reset
    assert series_of(7, "hour", "average", T0 + 10)[T0] == 40


@pytest.mark.django_db
def test_storage_stays_bounded_as_the_ring_turns():
    day = 86400
    history.record(Subject.INSTANCE, {7: {"cpu_percent": 1.0}}, T0)
    history.record(Subject.INSTANCE, {7: {"cpu_percent": 9.0}}, T0 + day)  # same minute slot
    assert Point.objects.filter(subject_id=7, tier=0).count() == 1
    points = series_of(7, "day", "average", T0 + day)
    assert points[T0 + day] == 9 and T0 not in points
    assert len(points) == TIERS[0].rows


@pytest.mark.django_db
def test_history_of_long_deleted_instances_is_pruned(world, settings):
    from django.utils import timezone

    settings.KUMO_METRICS_KEEP_DELETED_DAYS = 30
    kept, gone = world["instance_a"], world["instance_b"]
    gone.vm_state, gone.terminated_at = "deleted", timezone.now() - timezone.timedelta(days=31)
    gone.save()
    for instance in (kept, gone):
        history.record(Subject.INSTANCE, {instance.pk: {"cpu_percent": 1.0}}, T0)
        Reading.objects.create(kind=Subject.INSTANCE, subject_id=instance.pk, taken_at=T0)
    prune()
    assert set(Point.objects.values_list("subject_id", flat=True)) == {kept.pk}
    assert set(Reading.objects.values_list("subject_id", flat=True)) == {kept.pk}


def test_the_api_shape_names_every_instance_series(db, world, api, member_a):
    api.force_authenticate(member_a)
    body = api.get(f"/api/v1/instances/{world['instance_a'].ec2_id}/metrics/?timeframe=day").json()
    assert set(body) == {"timeframe", "cf", "step", "series", "memory_source"}
    assert (body["timeframe"], body["cf"], body["step"]) == ("day", "average", 60)
    assert set(body["series"]) == set(INSTANCE_SERIES)
    assert len(body["series"]["cpu_percent"]) == 1440


def test_an_unknown_timeframe_or_cf_is_a_400_with_the_allowed_values(db, world, api, member_a):
    api.force_authenticate(member_a)
    url = f"/api/v1/instances/{world['instance_a'].ec2_id}/metrics/"
    response = api.get(url, {"timeframe": "fortnight", "cf": "median"})
    assert response.status_code == 400
    assert "hour, day, week, month, year" in response.json()["timeframe"][0]
    assert "average, max" in response.json()["cf"][0]


def test_another_members_instance_metrics_are_a_404(db, world, api, member_a):
    api.force_authenticate(member_a)
    response = api.get(f"/api/v1/instances/{world['instance_b'].ec2_id}/metrics/")
    assert response.status_code == 404


def test_node_metrics_are_for_those_who_see_the_node(db, world, api, admin, member_a):
    api.force_authenticate(member_a)
    assert api.get("/api/v1/nodes/sim/metrics/").status_code == 404
    api.force_authenticate(admin)
    body = api.get("/api/v1/nodes/sim/metrics/?timeframe=week&cf=max").json()
    assert body["step"] == 1800 and "instances_cpu_percent" in body["series"]
