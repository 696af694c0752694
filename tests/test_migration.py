"""Moving instances between nodes: live (with the disks copied along), cold, aborted; and
what is refused before anything moves. The QEMU tests migrate between the tests' two
private daemons (DESIGN.md §9)."""

import pytest

from nodes.choices import DomainType, NicType
from nodes.libvirt import Hypervisor
from nodes.models import Instance, Node
from nodes.probing import probe_and_record
from tests.libvirtd import FIRST, NETWORK

QEMU = pytest.mark.django_db(transaction=True)


@pytest.fixture
def local_2(demo, second_daemon, settings):
    """A second QEMU node in the demo cluster, on the second daemon; images in the same
    directory as the first node's (one machine), the rest in its own."""
    settings.KUMO_PROBE_TIMEOUT = 30
    paths = second_daemon.node_paths() | {"images_path": FIRST.node_paths()["images_path"]}
    node = Node.objects.create(
        cluster=Node.objects.get(name="local").cluster,
        name="local-2",
        uri=second_daemon.qemu_uri,
        domain_type=DomainType.QEMU,
        nic_type=NicType.NETWORK,
        nic_source=NETWORK,
        **paths,
    )
    assert probe_and_record(node), node.last_error
    return node


def migrate(api, instance, **fields):
    return api.post(
        f"/api/v1/instances/{instance.ec2_id}/actions/",
        {"action": "migrate", **fields},
        format="json",
    )


def domain_power(node, instance):
    with Hypervisor(node.endpoint(), 10) as hypervisor:
        return hypervisor.power_state(instance.uuid)


@QEMU
def test_a_running_guest_migrates_live_with_its_disk_and_keeps_running(
    installer, local_2, api, run_jobs
):
    local = installer.node
    response = migrate(api, installer, node="local-2")
    assert response.status_code == 202, response.json()
    run_jobs()
    action = installer.actions.get(kind="migrate")
    assert action.status == "succeeded", action.error
    instance = Instance.objects.get(pk=installer.pk)
    assert (instance.node, instance.vm_state, instance.task_state) == (local_2, "active", None)
    assert domain_power(local_2, instance) == "running"
    assert domain_power(local, instance) == "nostate"
    assert [step["name"] for step in action.steps] == [
        "Check that local-2 can run it",
        "Prepare its disks on local-2",
        "Migrate it live to local-2 (tcp://127.0.0.1)",
        "Delete its disks on local",
    ]
    assert action.progress.get("data_total_bytes", 0) > 0
