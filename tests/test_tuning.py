"""Live tuning: CPU weight and cap, memory and vCPUs, applied to the domain (running and
defined), recorded on the instance and rendered again by the default stylesheet."""

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from nodes.domainxml import pipeline
from nodes.libvirt import Endpoint, Hypervisor, check_definition
from nodes.models import Instance
from tests.conftest import ask_action, launch_installer, terminate_if_live
from tests.domain_facts import BASE
from tests.libvirtd import FIRST
from tests.test_rule_library import default_domain

pytestmark = pytest.mark.django_db
ON_SIM = pytest.mark.django_db(transaction=True)  # the launch's job runs once it commits

TUNED = replace(BASE, cores=2, memory_mb=1024, current_vcpus=1, current_memory_mb=768)


def tune(api, instance, **values):
    return ask_action(api, instance, "tune", **values)


def definition(instance):
    with Hypervisor(instance.node.endpoint(), 10) as hypervisor:
        domain = hypervisor.require(instance.uuid)
        return etree.fromstring(hypervisor.definition(domain).encode())


# What the default stylesheet renders


def test_the_default_stylesheet_renders_no_cputune_at_the_default_weight_and_no_cap():
    assert not default_domain(replace(BASE, cpu_weight=256, cpu_cap=0)).xpath("/domain/cputune")


def test_the_weight_becomes_four_times_as_many_shares_and_the_cap_a_quota_per_100_ms():
    domain = default_domain(replace(TUNED, cpu_weight=512, cpu_cap=150))
    assert domain.xpath("string(/domain/cputune/shares)") == "2048"
    assert domain.xpath("string(/domain/cputune/global_period)") == "100000"
    assert domain.xpath("string(/domain/cputune/global_quota)") == "150000"
    assert domain.find("cputune").getprevious().tag == "vcpu"
    check_definition(Endpoint(FIRST.test_uri), etree.tostring(domain), 10)


def test_memory_and_vcpus_now_render_below_their_maxima():
    domain = default_domain(TUNED)
    assert domain.xpath("string(/domain/memory)") == str(1024 * 1024)
    assert domain.xpath("string(/domain/currentMemory)") == str(768 * 1024)
    assert domain.xpath("string(/domain/vcpu)") == "2"
    assert domain.xpath("string(/domain/vcpu/@current)") == "1"
    untuned = default_domain(replace(TUNED, current_vcpus=0, current_memory_mb=0))
    assert untuned.xpath("/domain/vcpu/@current") == []
    assert untuned.xpath("string(/domain/currentMemory)") == str(1024 * 1024)


# Refusals


@ON_SIM
@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"cpu_weight": 0}, "cpu_weight", "from 1 to 65536"),
        ({"cpu_weight": 65537}, "cpu_weight", "from 1 to 65536"),
        ({"cpu_cap": 101}, "cpu_cap", "100 with 1 vCPUs"),
        ({"cpu_cap": -1}, "cpu_cap", "from 0 (none)"),
        ({"memory_mib": 257}, "memory_mib", "m1.small's 256 MiB"),
        ({"memory_mib": 10}, "memory_mib", "from 64 MiB"),
        ({"vcpus": 2}, "vcpus", "m1.small has 1 vCPUs"),
        ({}, "action", "Say what to tune"),
    ],
)
def test_a_value_out_of_range_is_a_400_naming_the_field(
    launched_on_sim, api, member_a, values, field, words
):
    api.force_authenticate(member_a)
    response = tune(api, launched_on_sim, **values)
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()[field])
    assert not launched_on_sim.actions.filter(kind="tune").exists()


@ON_SIM
def test_a_terminated_instance_cannot_be_tuned(launched_on_sim, api, member_a):
    Instance.objects.filter(pk=launched_on_sim.pk).update(vm_state="deleted")
    api.force_authenticate(member_a)
    response = tune(api, launched_on_sim, cpu_weight=512)
    assert response.status_code == 409 and "terminated" in response.json()["detail"]


# On the test driver: the definition, the record, a re-render


@ON_SIM
def test_a_tune_changes_the_definition_and_is_recorded_for_the_next_render(
    launched_on_sim, api, member_a, run_jobs
):
    api.force_authenticate(member_a)
    response = tune(api, launched_on_sim, memory_mib=128, cpu_weight=1024, cpu_cap=50)
    assert response.status_code == 202, response.json()
    assert response.json()["action"]["params"] == {
        "memory_mib": 128,
        "cpu_weight": 1024,
        "cpu_cap": 50,
    }
    run_jobs()
    action = launched_on_sim.actions.get(kind="tune")
    assert action.status == "succeeded", action.error
    assert [step["name"] for step in action.steps] == [
        "Set the memory to 128 MiB",
        "Set the CPU weight to 1024 and the cap to 50 %",
    ]
    instance = Instance.objects.get(pk=launched_on_sim.pk)
    assert (instance.vm_state, instance.task_state) == ("active", None)
    assert api.get(f"/api/v1/instances/{instance.ec2_id}/").json()["tuning"] == {
        "cpu_weight": 1024,
        "cpu_cap": 50,
        "memory_mib": 128,
        "vcpus": 1,
    }
    assert definition(instance).xpath("string(/domain/currentMemory)") == str(128 * 1024)
    rendered = etree.fromstring(pipeline.render(instance, check_schema=False).domain_text)
    assert rendered.xpath("string(/domain/currentMemory)") == str(128 * 1024)
    assert rendered.xpath("string(/domain/cputune/shares)") == "4096"
    assert rendered.xpath("string(/domain/cputune/global_quota)") == "50000"


# On a real QEMU guest: live and defined, and the cgroup the kernel enforces


def cgroup_value(instance, name):
    """A cgroup (v1, cpu controller) value of the guest's QEMU process, from /proc and /sys."""
    pid = (FIRST.dir / "run/libvirt/qemu" / f"{instance.ec2_id}.pid").read_text().strip()
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    path = next(line.split(":", 2)[2] for line in lines if "cpu" in line.split(":")[1].split(","))
    domain_group = Path("/sys/fs/cgroup/cpu", path.lstrip("/")).parent  # above "emulator"
    return (domain_group / name).read_text().strip()


@pytest.fixture
def two_vcpu_guest(demo, admin, api, queue, run_jobs, settings):
    """The installer on QEMU as an m1.large (2 vCPUs, 1 GiB) launched with 1 vCPU."""
    instance = launch_installer(
        admin,
        api,
        run_jobs,
        settings,
        instance_type="m1.large",
        before=lambda made: Instance.objects.filter(pk=made.pk).update(current_vcpus=1),
    )
    yield instance
    terminate_if_live(instance, admin, run_jobs)


@pytest.mark.django_db(transaction=True)
def test_a_running_guest_is_tuned_live_and_in_its_definition(two_vcpu_guest, api, run_jobs):
    instance = two_vcpu_guest
    with Hypervisor(instance.node.endpoint(), 10) as hypervisor:
        live = etree.fromstring(hypervisor.domain_xml(instance.uuid).encode())
    assert live.xpath("string(/domain/vcpu/@current)") == "1"
    response = tune(api, instance, vcpus=2, memory_mib=768, cpu_weight=512, cpu_cap=150)
    assert response.status_code == 202, response.json()
    run_jobs()
    action = instance.actions.get(kind="tune")
    assert action.status == "succeeded", action.error
    with Hypervisor(instance.node.endpoint(), 10) as hypervisor:
        live = etree.fromstring(hypervisor.domain_xml(instance.uuid).encode())
    defined = definition(instance)
    for domain in (live, defined):
        assert domain.xpath("string(/domain/vcpu/@current)") in ("", "2")
        assert domain.xpath("string(/domain/cputune/shares)") == "2048"
        assert domain.xpath("string(/domain/cputune/global_quota)") == "150000"
    assert defined.xpath("string(/domain/currentMemory)") == str(768 * 1024)
    assert cgroup_value(instance, "cpu.shares") == "2048"
    assert cgroup_value(instance, "cpu.cfs_quota_us") == "150000"
    assert cgroup_value(instance, "cpu.cfs_period_us") == "100000"
    instance.refresh_from_db()
    assert (instance.current_vcpus, instance.current_memory_mb) == (2, 768)


# The page


@ON_SIM
def test_the_tune_page_shows_what_it_runs_with_and_queues_only_what_changed(
    launched_on_sim, client, member_a, run_jobs
):
    client.force_login(member_a)
    url = f"/instances/{launched_on_sim.ec2_id}/tune/"
    page = client.get(url).content.decode()
    assert 'value="256"' in page and "Up to 256 MiB (m1.small&#x27;s)" in page
    values = {"vcpus": 1, "memory_mib": 256, "cpu_weight": 256, "cpu_cap": 0}
    assert "Nothing changed" in client.post(url, values).content.decode()
    response = client.post(url, values | {"cpu_weight": 100})
    assert response.status_code == 302
    assert launched_on_sim.actions.get(kind="tune").params == {"cpu_weight": 100}
    refused = client.post(url, values | {"memory_mib": 512}).content.decode()
    assert "m1.small&#x27;s 256 MiB" in refused
