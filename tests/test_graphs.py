"""The graphs of the instance and node pages (uPlot in headless Chromium, fed by the metrics
API), the reasons they give when there is nothing new to draw, and the dashboard's busiest
instances and nodes."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from nodes.choices import NodeStatus, PowerState, VmState
from nodes.metrics import history
from nodes.metrics.models import Reading
from nodes.metrics.series import Subject
from nodes.models import Instance
from tests.browser import log_in

MiB = 2**20
INSTANCE_FIGURES = {
    "cpu_percent": 42.0,
    "memory_used_bytes": 300 * MiB,
    "memory_total_bytes": 1024 * MiB,
    "disk_read_bytes_per_s": 2 * MiB,
    "disk_write_bytes_per_s": 512 * 1024,
    "net_rx_bytes_per_s": 3000,
    "net_tx_bytes_per_s": 1000,
}
NODE_FIGURES = {**INSTANCE_FIGURES, "instances_cpu_percent": 20.0, "running_instances": 2}
BLUE_PIXELS = """(figure) => {
  const canvas = figure.querySelector("canvas");
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let blue = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] < 80 && data[i + 1] > 80 && data[i + 1] < 150 && data[i + 2] > 200) blue += 1;
  }
  return blue;
}"""
LEGEND_AT_A_POINT = """(figure) => {
  figure.chart.setLegend({ idx: figure.chart.data[1].findLastIndex((v) => v !== null) });
  return figure.querySelector(".u-legend").innerText;
}"""
POINTS = (
    "() => document.querySelector('[data-chart]').chart.data[1].filter((v) => v !== null).length"
)


def text(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def recorded(kind, subject_id, figures, minutes):
    """`minutes` minutes of history up to the last one, and a current reading."""
    now = time.time()
    for minute in range(minutes, 0, -1):
        history.record(kind, {subject_id: figures}, now - minute * 60)
    current = {**figures, "memory_source": "rss" if kind == Subject.INSTANCE else None}
    Reading.objects.create(kind=kind, subject_id=subject_id, taken_at=now, figures=current)


def sample_of(subject, cpu, age=0):
    kind = Subject.INSTANCE if isinstance(subject, Instance) else Subject.NODE
    figures = {**NODE_FIGURES, "cpu_percent": cpu}
    Reading.objects.create(
        kind=kind, subject_id=subject.pk, taken_at=time.time() - age, figures=figures
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_instance_page_draws_its_history_follows_it_and_the_picker(
    page, live_server, running, settings
):
    settings.KUMO_METRICS_INTERVAL = 1
    recorded(Subject.INSTANCE, running.pk, INSTANCE_FIGURES, minutes=30)
    log_in(page, live_server, "alice", "pw")
    page.goto(f"{live_server.url}/instances/{running.ec2_id}/")

    page.wait_for_function(f"{POINTS} === 30")
    figures = page.locator("[data-chart]")
    assert figures.count() == 4
    assert figures.first.evaluate(BLUE_PIXELS) > 100  # the CPU line, drawn
    assert page.is_visible("text=host process memory (no balloon driver in the guest)")
    assert page.inner_text("#graphs-status").strip() == ""  # a current sample: nothing to say
    legend = figures.nth(1).evaluate(LEGEND_AT_A_POINT)
    assert "300 MiB" in legend and "1 GiB" in legend  # bytes in binary units

    history.record(Subject.INSTANCE, {running.pk: INSTANCE_FIGURES}, time.time())
    page.wait_for_function(f"{POINTS} === 31")  # refetched without a reload

    for label, asked in (("Day", "timeframe=day"), ("Maximum", "cf=max"), ("Year", "year")):
        with page.expect_request(lambda request, asked=asked: asked in request.url) as request:
            page.click(f"label:has-text('{label}')")
        assert f"/api/v1/instances/{running.ec2_id}/metrics/?" in request.value.url
    page.wait_for_selector("text=Nothing recorded in this timeframe.")  # not rolled up


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_first_sample_is_drawn_as_a_point(page, live_server, running):
    recorded(Subject.INSTANCE, running.pk, INSTANCE_FIGURES, minutes=1)
    log_in(page, live_server, "alice", "pw")
    page.goto(f"{live_server.url}/instances/{running.ec2_id}/")
    page.wait_for_function(f"{POINTS} === 1")
    assert page.locator("[data-chart]").first.evaluate(BLUE_PIXELS) > 10


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_node_page_draws_its_own_figures_and_the_load_of_its_instances(
    page, live_server, world, sim_node, settings
):
    settings.KUMO_METRICS_INTERVAL = 1
    recorded(Subject.NODE, sim_node.pk, NODE_FIGURES, minutes=5)
    log_in(page, live_server, "alice", "pw")
    page.goto(f"{live_server.url}/nodes/sim/")
    page.wait_for_function(f"{POINTS} === 5")
    assert page.locator("[data-chart]").count() == 5
    assert "Running instances" in page.inner_text("#graphs")
    running = page.locator("[data-chart]").last
    drawn = running.evaluate("(figure) => figure.chart.data[1].filter((v) => v !== null)")
    assert drawn == [2] * 5
    assert not page.is_visible("[data-memory-source]")  # a host's memory is its own

    sim_node.status, sim_node.last_seen = NodeStatus.DOWN, timezone.now()
    sim_node.save()
    page.wait_for_selector("#graphs-status >> text=Node sim down since")  # once stale, no reload
    assert page.locator("[data-chart]").count() == 5  # the history stays


def test_an_instance_without_samples_says_when_the_first_arrive(admin_client, running, settings):
    settings.KUMO_METRICS_INTERVAL = 7
    page = text(admin_client.get(running.get_absolute_url()))
    assert "No samples yet: the first arrive within 7 s of the instance starting" in page
    assert 'data-interval="7"' in page and 'hx-trigger="every 7s"' in page


def test_an_instance_that_is_not_running_says_so(admin_client, world):
    instance = world["instance_a"]
    instance.vm_state, instance.power_state = VmState.STOPPED, PowerState.SHUTOFF
    instance.save()
    page = text(admin_client.get(instance.get_absolute_url()))
    assert f"{instance.ec2_id} is not running (shut off)" in page


def test_a_node_that_is_down_says_since_when_on_its_page_and_its_instances(
    admin_client, running, sim_node
):
    sim_node.status, sim_node.last_seen = NodeStatus.DOWN, timezone.now() - timedelta(hours=2)
    sim_node.save()
    for url in ("/nodes/sim/", running.get_absolute_url()):
        page = text(admin_client.get(url))
        assert "Node sim down since" in page and "2\xa0hours ago" in page


def test_a_sample_older_than_three_intervals_asks_for_the_collector(admin_client, running):
    sample_of(running, cpu=10, age=60)
    page = text(admin_client.get(running.get_absolute_url()))
    assert "No sample since" in page and "is the collector" in page


def test_the_dashboard_lists_the_top_instances_and_the_busiest_nodes(
    admin_client, world, sim_node, admin
):
    busy, quiet = world["instance_a"], world["instance_b"]
    gone = Instance.objects.create(
        owner=admin,
        cluster=sim_node.cluster,
        node=sim_node,
        image=world["public_image"],
        instance_type=busy.instance_type,
        vm_state=VmState.DELETED,
    )
    sample_of(busy, cpu=80)
    sample_of(quiet, cpu=30)
    sample_of(gone, cpu=99)
    sample_of(sim_node, cpu=55)
    page = text(admin_client.get("/", headers={"HX-Target": "dashboard"}))
    top = page.split('id="top-instances"')[1].split("</section>")[0]
    assert top.index(busy.ec2_id) < top.index(quiet.ec2_id) and gone.ec2_id not in top
    assert "80 %" in top and "300 MiB" in top
    nodes = page.split('id="busiest-nodes"')[1].split("</section>")[0]
    assert ">sim<" in nodes and "55 %" in nodes and "300 MiB / 1 GiB" in nodes


def test_a_member_sees_only_their_own_instances_on_the_dashboard(client, world):
    mine, theirs = world["instance_a"], world["instance_b"]
    sample_of(mine, cpu=10)
    sample_of(theirs, cpu=90)
    client.force_login(mine.owner)
    page = text(client.get("/"))
    assert mine.ec2_id in page and theirs.ec2_id not in page
    assert "Busiest nodes" not in page


def test_stale_samples_are_not_the_busiest(admin_client, world, sim_node):
    sample_of(world["instance_a"], cpu=70, age=60)
    sample_of(sim_node, cpu=70, age=60)
    page = text(admin_client.get("/"))
    assert "No instance has a sample from the last 30 s" in page
    assert "No node has a sample from the last 30 s" in page


def test_the_dashboard_reads_five_instances_in_as_many_queries_as_one(
    admin_client, world, django_assert_max_num_queries, sim_node
):
    sample_of(world["instance_a"], cpu=10)
    sample_of(sim_node, cpu=10)
    with django_assert_max_num_queries(100) as one:
        admin_client.get("/")
    for _ in range(4):
        instance = Instance.objects.create(
            owner=world["instance_a"].owner,
            cluster=sim_node.cluster,
            node=sim_node,
            image=world["public_image"],
            instance_type=world["instance_a"].instance_type,
        )
        sample_of(instance, cpu=20)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = text(admin_client.get("/"))
    assert page.count("20 %") == 4
