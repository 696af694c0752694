"""Volumes attached to and detached from a real QEMU (TCG) guest running the Debian installer
kernel on a private daemon: live, with the volume id as serial, and from a stopped one."""

import pytest
from lxml import etree

from nodes import operations
from nodes.choices import ActionKind, ActionStatus, VolumeStatus
from nodes.libvirt import Hypervisor
from nodes.storage.models import Volume
from tests.test_qemu_lifecycle import serial_log, wait_for_text

pytestmark = pytest.mark.django_db(transaction=True)
KERNEL_UP = "Freeing unused kernel"  # printed as the kernel hands over to the installer


def domain_disks(instance, defined=False):
    """{serial: target device} of the instance's domain, live (or as defined)."""
    with Hypervisor(instance.node.endpoint(), 10) as hypervisor:
        domain = hypervisor.require(instance.uuid)
        xml = hypervisor.definition(domain) if defined else hypervisor.live_xml(domain)
    disks = etree.fromstring(xml.encode()).iterfind("devices/disk")
    return {disk.findtext("serial"): disk.find("target").get("dev") for disk in disks}


def block_names(instance):
    """The disks of the instance in the node's bulk statistics."""
    with Hypervisor(instance.node.endpoint(), 10) as hypervisor:
        _, domains = hypervisor.counters()
    return set(domains[str(instance.uuid)]["disks"])


def new_volume(api, run_jobs, node):
    response = api.post("/api/v1/volumes/", {"size_gib": 1, "node": node.name}, format="json")
    assert response.status_code == 202, response.json()
    run_jobs()
    volume = Volume.objects.get(ec2_id=response.json()["volume"]["id"])
    assert volume.status == VolumeStatus.AVAILABLE, volume.actions.get().error
    return volume


def act(api, run_jobs, volume, verb, body=None):
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/{verb}/", body or {}, format="json")
    assert response.status_code == 202, response.json()
    run_jobs()
    volume.refresh_from_db()
    action = volume.actions.get(pk=response.json()["action"]["id"])
    assert action.status == ActionStatus.SUCCEEDED, action.error
    return action


def test_a_volume_attaches_live_with_its_serial_and_detaches(installer, api, run_jobs):
    volume = new_volume(api, run_jobs, installer.node)
    act(api, run_jobs, volume, "attach", {"instance": installer.ec2_id})
    assert (volume.status, volume.instance, volume.device) == ("in-use", installer, "vdc")
    assert domain_disks(installer)[volume.ec2_id] == "vdc"
    assert domain_disks(installer, defined=True)[volume.ec2_id] == "vdc"
    assert "vdc" in block_names(installer)
    installer.refresh_from_db()
    assert (installer.vm_state, installer.task_state) == ("active", None)

    assert wait_for_text(serial_log(installer), KERNEL_UP, 120)
    act(api, run_jobs, volume, "detach")  # the installer kernel answers the unplug
    assert (volume.status, volume.instance, volume.device) == ("available", None, "")
    assert volume.ec2_id not in domain_disks(installer)
    assert volume.ec2_id not in domain_disks(installer, defined=True)
    assert "vdc" not in block_names(installer)


def test_a_volume_attached_to_a_stopped_instance_is_there_when_it_starts(
    installer, admin, api, run_jobs
):
    operations.request_action(installer, ActionKind.STOP, admin)
    run_jobs()
    volume = new_volume(api, run_jobs, installer.node)
    act(api, run_jobs, volume, "attach", {"instance": installer.ec2_id})
    assert domain_disks(installer, defined=True)[volume.ec2_id] == "vdc"
    operations.request_action(installer, ActionKind.HARD_REBOOT, admin)  # re-rendered
    run_jobs()
    assert domain_disks(installer)[volume.ec2_id] == "vdc"

    operations.request_action(installer, ActionKind.TERMINATE, admin)
    run_jobs()
    volume.refresh_from_db()
    assert volume.status == VolumeStatus.AVAILABLE  # it outlives the instance
    response = api.delete(f"/api/v1/volumes/{volume.ec2_id}/")
    assert response.status_code == 202
    run_jobs()
    volume.refresh_from_db()
    assert volume.status == VolumeStatus.DELETED
