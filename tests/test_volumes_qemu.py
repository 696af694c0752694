"""Volumes attached to and detached from a real QEMU (TCG) guest running the Debian installer
kernel on a private daemon: live, with the volume id as serial, and from a stopped one."""

import subprocess
from pathlib import Path

import pytest
from lxml import etree

from nodes import operations
from nodes.choices import ActionKind, ActionStatus, ImageStatus, VmState, VolumeStatus
from nodes.libvirt import Endpoint, Hypervisor
from nodes.models import Action, Image, Instance
from nodes.probing import probe_and_record
from nodes.storage.models import Volume, VolumeSnapshot
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


@pytest.mark.parametrize("node_is_this_host", [True, False], ids=["converted here", "streamed"])
def test_an_image_made_from_a_volume_holds_what_was_written_on_it(
    installer, admin, api, run_jobs, monkeypatch, node_is_this_host
):
    """On a node that is this host the file is converted straight; on another it is copied
    on the node and streamed (the private daemon is this host's: its answer is forced)."""
    monkeypatch.setattr(Endpoint, "is_this_host", property(lambda _: node_is_this_host))
    volume = new_volume(api, run_jobs, installer.node)
    write = ["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 4M", volume.path]
    subprocess.run(write, check=True, capture_output=True)
    body = {"name": "from-volume", "from_volume": volume.ec2_id, "cloud_init": False}
    response = api.post("/api/v1/images/", body, format="json")
    assert response.status_code == 202, response.json()
    attach = {"instance": installer.ec2_id}
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/attach/", attach, format="json")
    assert response.status_code == 409 and "is being copied" in response.json()["detail"]
    run_jobs()
    image = Image.objects.get(name="from-volume")
    action = image_action(image)
    assert image.status == ImageStatus.AVAILABLE, action.error
    assert (image.owner, image.is_public, image.cloud_init) == (admin, False, False)
    assert image.virtual_size_bytes == 1 << 30
    steps = " ".join(step["name"] for step in action.steps)
    assert ("Download it to the console host" in steps) is not node_is_this_host

    launch = {"image": image.ec2_id, "instance_type": "m1.small", "node": "local"}
    response = api.post("/api/v1/instances/", launch, format="json")
    run_jobs()
    made = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    assert made.vm_state == VmState.ACTIVE, made.actions.get().error
    root = str(Path(made.node.instances_path, made.ec2_id, Instance.ROOT_DISK))
    read = ["qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x5a 1M 4M", root]
    done = subprocess.run(read, check=True, capture_output=True, text=True)
    assert "verification failed" not in done.stdout and "read 4194304/4194304" in done.stdout
    operations.request_action(made, ActionKind.TERMINATE, admin)
    run_jobs()


def image_action(image):
    return Action.objects.get(image=image)


@pytest.fixture
def qemu_node(local_node, admin, api, queue, settings):
    """The private QEMU daemon's node, probed; the API as the admin."""
    settings.KUMO_PROBE_TIMEOUT = 30  # a libvirtd just started probes QEMU's capabilities
    assert probe_and_record(local_node), local_node.last_error
    api.force_authenticate(admin)
    return local_node


def holds_pattern(path, offset="1M", length="4M"):
    read = ["qemu-io", "-r", "-U", "-f", "qcow2", "-c", f"read -P 0x5a {offset} {length}", path]
    done = subprocess.run(read, check=True, capture_output=True, text=True)
    return "verification failed" not in done.stdout


def test_a_snapshot_of_a_volume_becomes_a_new_volume_and_an_image(
    qemu_node, api, run_jobs, settings, tmp_path
):
    settings.KUMO_IMAGES_DIR = tmp_path
    volume = new_volume(api, run_jobs, qemu_node)
    write = ["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 4M", volume.path]
    subprocess.run(write, check=True, capture_output=True)
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/snapshots/")
    assert response.status_code == 202, response.json()
    snapshot_id = response.json()["snapshot"]["id"]
    assert response.json()["snapshot"]["status"] == "pending"
    run_jobs()
    snapshot = VolumeSnapshot.objects.get(ec2_id=snapshot_id)
    assert snapshot.status == "completed", snapshot.actions.get().error
    subprocess.run(  # the volume changes after: the snapshot does not
        ["qemu-io", "-f", "qcow2", "-c", "write -P 0x00 1M 4M", volume.path], check=True
    )

    response = api.post("/api/v1/volumes/", {"snapshot": snapshot_id}, format="json")
    assert response.status_code == 202, response.json()
    copy_id = response.json()["volume"]["id"]
    refused = api.delete(f"/api/v1/volume-snapshots/{snapshot_id}/")
    assert refused.status_code == 409 and "is being copied" in refused.json()["detail"]
    body = {"name": "from-snapshot", "from_snapshot": snapshot_id}
    assert api.post("/api/v1/images/", body, format="json").status_code == 202
    run_jobs()
    copy = Volume.objects.get(ec2_id=copy_id)
    assert copy.status == "available", copy.actions.get().error
    assert (copy.size_gib, copy.node, copy.source_snapshot) == (1, qemu_node, snapshot)
    assert holds_pattern(copy.path)
    image = Image.objects.get(name="from-snapshot")
    assert image.status == ImageStatus.AVAILABLE, image_action(image).error
    assert holds_pattern(image.location)

    assert api.delete(f"/api/v1/volume-snapshots/{snapshot_id}/").status_code == 202
    run_jobs()
    snapshot.refresh_from_db()
    assert snapshot.status == "deleted"
    assert not Path(qemu_node.volumes_path, snapshot.file_name).exists()


def test_a_volume_made_of_an_image_holds_its_disk(qemu_node, api, run_jobs, admin, tmp_path):
    source = tmp_path / "patterned.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source), "1G"], check=True)
    write = ["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 4M", str(source)]
    subprocess.run(write, check=True, capture_output=True)
    image = Image.objects.create(
        owner=admin,
        name="patterned",
        kind="machine",
        format="qcow2",
        location=str(source),
        size_bytes=source.stat().st_size,
        virtual_size_bytes=1 << 30,
    )
    body = {"image": image.ec2_id, "node": qemu_node.name, "size_gib": 2}
    response = api.post("/api/v1/volumes/", body, format="json")
    assert response.status_code == 202, response.json()
    run_jobs()
    volume = Volume.objects.get(ec2_id=response.json()["volume"]["id"])
    assert volume.status == "available", volume.actions.get().error
    assert holds_pattern(volume.path)
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", volume.path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert '"virtual-size": 2147483648' in info and "backing" not in info  # grown, flattened


def test_an_attached_volume_is_not_snapshotted(installer, api, run_jobs):
    volume = new_volume(api, run_jobs, installer.node)
    act(api, run_jobs, volume, "attach", {"instance": installer.ec2_id})
    response = api.post(f"/api/v1/volumes/{volume.ec2_id}/snapshots/")
    assert response.status_code == 409
    assert "only an available volume is copied" in response.json()["detail"]
    assert not VolumeSnapshot.objects.exists()
