"""Moving instances between nodes: live (with the disks copied along), cold, aborted; and
what is refused before anything moves. The QEMU tests migrate between the tests' two
private daemons (DESIGN.md §9)."""

from pathlib import Path

import pytest

from nodes.libvirt import Endpoint, Hypervisor, NodeError
from nodes.libvirt.migration import refuse_incompatible
from nodes.models import Action, Cluster, Instance, Node
from tests.conftest import ask_action, wait_for
from tests.libvirtd import FIRST
from tests.test_qemu_lifecycle import serial_log, wait_for_text

QEMU = pytest.mark.django_db(transaction=True)


def migrate(api, instance, **fields):
    return ask_action(api, instance, "migrate", **fields)


def migrating(action):
    """Whether the action has started the live migration itself."""
    action.refresh_from_db()
    return any(step["name"].startswith("Migrate it live") for step in action.steps)


def domain_power(node, instance):
    with Hypervisor(node.endpoint(), 10) as hypervisor:
        return hypervisor.power_state(instance.uuid)


@QEMU
def test_a_running_guest_migrates_live_with_its_disk_and_keeps_running(
    installer, local_2, api, run_jobs
):
    local = installer.node
    assert wait_for_text(serial_log(installer), "Linux version", 30)
    response = migrate(api, installer, node="local-2")
    assert response.status_code == 202, response.json()
    run_jobs()
    action = installer.actions.get(kind="migrate")
    assert action.status == "succeeded", action.error
    instance = Instance.objects.get(pk=installer.pk)
    assert (instance.node, instance.vm_state, instance.task_state) == (local_2, "active", None)
    assert "Linux version" in serial_log(instance).read_text(errors="replace")  # the log came along
    assert domain_power(local_2, instance) == "running"
    assert domain_power(local, instance) == "nostate"
    assert [step["name"] for step in action.steps] == [
        "Check that local-2 can run it",
        "Prepare its disks on local-2",
        "Migrate it live to local-2 (tcp://127.0.0.1)",
        "Delete its disks on local",
    ]
    assert action.progress.get("data_total_bytes", 0) > 0


@QEMU
def test_an_abort_mid_way_leaves_it_running_on_the_source(
    installer, local_2, api, admin, worker_soon
):
    local = installer.node
    response = migrate(api, installer, node="local-2", max_speed_mib_s=1)
    assert response.status_code == 202, response.json()
    action = installer.actions.get(kind="migrate")
    worker_soon(0)

    assert wait_for(lambda: migrating(action), 60), (action.status, action.error)
    aborted = ask_action(api, installer, "abort_migration")
    assert aborted.status_code == 202, aborted.json()
    assert wait_for(lambda: action.refresh_from_db() or action.finished, 60)
    assert action.status == "failed"
    assert f"Aborted by {admin.username}: {installer.ec2_id} stays on local." in action.error
    instance = Instance.objects.get(pk=installer.pk)
    assert (instance.node, instance.vm_state, instance.task_state) == (local, "active", None)
    assert domain_power(local, instance) == "running"
    assert domain_power(local_2, instance) == "nostate"
    assert not (Path(local_2.instances_path) / instance.ec2_id).exists()
    abort = instance.actions.get(kind="abort_migration")
    assert abort.status == "succeeded" and abort.steps


@QEMU
def test_on_shared_storage_only_the_memory_moves_and_the_disks_stay(
    installer, local_2, api, run_jobs
):
    local = installer.node
    shared = {"instances_path": local.instances_path, "volumes_path": local.volumes_path}
    Node.objects.filter(pk=local_2.pk).update(**shared)
    disk = Path(local.instances_path, installer.ec2_id, Instance.ROOT_DISK)
    assert migrate(api, installer, node="local-2").status_code == 202
    run_jobs()
    action = installer.actions.get(kind="migrate")
    assert action.status == "succeeded", action.error
    assert [step["name"] for step in action.steps] == [
        "Check that local-2 can run it",
        "Migrate it live to local-2 (tcp://127.0.0.1)",
        "Forget its shared disks' pool on local",
    ]
    assert action.steps[0]["detail"] == "Its disks are on storage both nodes share."
    assert action.progress.get("disk_total_bytes", 0) == 0
    instance = Instance.objects.get(pk=installer.pk)
    assert instance.node == local_2 and domain_power(local_2, instance) == "running"
    assert disk.exists()


@QEMU
def test_a_stopped_instance_moves_cold_and_starts_there(installer, local_2, api, run_jobs):
    local = installer.node
    assert ask_action(api, installer, "stop").status_code == 202
    run_jobs()
    response = migrate(api, installer)  # placement picks local-2, the only other node
    assert response.status_code == 202, response.json()
    assert response.json()["action"]["params"] == {"node": "local-2", "live": False}
    run_jobs()
    action = installer.actions.get(kind="migrate")
    assert action.status == "succeeded", action.error
    assert [step["name"] for step in action.steps] == [
        "Check that local-2 can run it",
        "Prepare its disks on local-2",
        "Define it on local-2",
        "Delete its disks on local",
    ]
    instance = Instance.objects.get(pk=installer.pk)
    assert (instance.node, instance.vm_state) == (local_2, "stopped")
    assert domain_power(local, instance) == "nostate"
    assert domain_power(local_2, instance) == "shutoff"
    assert ask_action(api, instance, "start").status_code == 202
    run_jobs()
    assert domain_power(local_2, instance) == "running"


# Refused before anything moves (the test driver's nodes: nothing runs)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"node": "sim"}, 400, "is on sim already"),
        ({"node": "elsewhere"}, 400, "No node elsewhere in cluster demo"),
        ({"node": "sim-2", "live": False}, 409, "is running: migrate it live"),
        ({"node": "sim-2", "max_speed_mib_s": 0}, 400, "A whole number above 0"),
    ],
)
def test_a_migration_that_cannot_be_is_refused_with_the_reason(
    two_sims, api, admin, fields, status, words
):
    instance, _ = two_sims
    api.force_authenticate(admin)
    response = migrate(api, instance, **fields)
    assert response.status_code == status, response.json()
    assert words in str(response.json())
    assert not instance.actions.exists()


@pytest.mark.django_db
def test_a_destination_without_room_is_refused_with_placements_figures(two_sims, api, admin):
    instance, other = two_sims
    Node.objects.filter(pk=other.pk).update(memory_mb=128)
    api.force_authenticate(admin)
    response = migrate(api, instance, node="sim-2")
    assert response.status_code == 409
    assert "sim-2: 256 MiB would exceed its 128 MiB" in response.json()["detail"]


@pytest.mark.django_db
def test_another_cluster_is_no_destination(two_sims, api, admin):
    instance, other = two_sims
    Node.objects.filter(pk=other.pk).update(cluster=Cluster.objects.create(name="east"))
    api.force_authenticate(admin)
    response = migrate(api, instance, node="sim-2")
    assert response.status_code == 400
    assert "moves only between the nodes of its cluster" in str(response.json())


@pytest.mark.django_db
def test_members_may_not_migrate_and_an_abort_needs_a_migration(two_sims, api, member_a, admin):
    instance, _ = two_sims
    api.force_authenticate(member_a)
    assert migrate(api, instance, node="sim-2").status_code == 403
    api.force_authenticate(admin)
    response = ask_action(api, instance, "abort_migration")
    assert response.status_code == 409
    assert f"No migration of {instance.ec2_id} is running" in response.json()["detail"]


@pytest.mark.django_db
def test_snapshots_stop_a_migration(two_sims, api, admin):
    instance, _ = two_sims
    instance.snapshots.create(name="before")
    api.force_authenticate(admin)
    response = migrate(api, instance, node="sim-2")
    assert response.status_code == 409 and "has snapshots" in response.json()["detail"]


@QEMU
def test_the_instance_shows_its_migration_and_its_limits_change_while_it_runs(
    installer, local_2, api, worker_soon
):
    assert api.get(f"/api/v1/instances/{installer.ec2_id}/").json()["migration"] is None
    response = migrate(api, installer, node="local-2", max_speed_mib_s=2)
    assert response.status_code == 202, response.json()
    action = installer.actions.get(kind="migrate")
    worker_soon(0)

    assert wait_for(lambda: migrating(action), 60), (action.status, action.error)
    migration = api.get(f"/api/v1/instances/{installer.ec2_id}/").json()["migration"]
    assert (migration["node"], migration["live"], migration["max_speed_mib_s"]) == (
        "local-2",
        True,
        2,
    )
    assert migration["status"] == "running"
    faster = api.post(
        f"/api/v1/instances/{installer.ec2_id}/migration/",
        {"max_speed_mib_s": 10000, "max_downtime_ms": 500},
        format="json",
    )
    assert faster.status_code == 200, faster.json()
    assert faster.json()["max_downtime_ms"] == 500
    assert wait_for(lambda: action.refresh_from_db() or action.finished, 90), (
        action.steps,
        action.progress,
    )
    assert action.status == "succeeded", action.error
    assert Instance.objects.get(pk=installer.pk).node == local_2
    assert api.get(f"/api/v1/instances/{installer.ec2_id}/").json()["migration"] is None


# The pages


@pytest.mark.django_db
def test_an_admin_migrates_from_the_instance_page_and_sees_it_move(two_sims, client, admin):
    instance, _ = two_sims
    client.force_login(admin)
    page = client.get(f"/instances/{instance.ec2_id}/").content.decode()
    assert "Migrate…" in page
    form = client.get(f"/instances/{instance.ec2_id}/migrate/").content.decode()
    assert "Let placement choose" in form and ">sim-2<" in form and ">sim<" not in form
    response = client.post(f"/instances/{instance.ec2_id}/migrate/", {"node": "sim-2"})
    assert response.status_code == 302
    action = instance.actions.get(kind="migrate")
    Action.objects.filter(pk=action.pk).update(
        status="running",
        progress={"progress_percent": 40.0, "data_remaining_bytes": 3 << 20, "memory_iteration": 2},
    )
    page = client.get(f"/instances/{instance.ec2_id}/").content.decode()
    assert "Migrating live to <strong>sim-2</strong>: 40.0 %, 3.0\xa0MB left, pass 2" in page
    assert "Abort the migration" in page
    client.post(f"/instances/{instance.ec2_id}/abort-migration/")
    assert instance.actions.filter(kind="abort_migration", status="queued").exists()


@pytest.mark.django_db
def test_a_refused_migration_says_why_on_the_form(two_sims, client, admin):
    instance, other = two_sims
    Node.objects.filter(pk=other.pk).update(memory_mb=128)
    client.force_login(admin)
    page = client.post(f"/instances/{instance.ec2_id}/migrate/", {"node": "sim-2"})
    assert "256 MiB would exceed its 128 MiB" in page.content.decode()


GUEST = (
    "<domain type='qemu'><name>guest</name><os><type arch='x86_64' machine='pc'>hvm</type></os>"
    "<cpu mode='custom' match='exact'><model>qemu64</model>{feature}</cpu></domain>"
)


def test_a_destination_without_the_guests_cpu_or_hypervisor_is_refused(second_daemon):
    avx512 = GUEST.format(feature="<feature policy='require' name='avx512f'/>")  # not in TCG
    with (
        Hypervisor(Endpoint(FIRST.qemu_uri), 30) as here,
        Hypervisor(Endpoint(second_daemon.qemu_uri), 30) as there,
        Hypervisor(Endpoint(FIRST.test_uri), 30) as simulated,
    ):
        with pytest.raises(NodeError, match="The destination's CPU lacks features the guest"):
            refuse_incompatible(here, there, avx512)
        refuse_incompatible(here, there, GUEST.format(feature=""))
        with pytest.raises(NodeError, match="The destination runs TEST, the source QEMU"):
            refuse_incompatible(here, simulated, avx512)
