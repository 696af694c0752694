"""ISO images in a CD-ROM drive: registering one, launching with it (API, "Install an image",
and on a real QEMU guest), and how the default stylesheet renders it."""

import pytest
from lxml import etree

from nodes import configdrive, operations
from nodes.choices import ActionKind, ImageFormat, ImageKind, VmState
from nodes.domainxml import pipeline
from nodes.libvirt import Hypervisor
from nodes.models import Action, Image, Instance, Node
from nodes.probing import probe_and_record
from nodes.storage.models import Volume
from tests.conftest import make_image

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def iso(admin):
    return make_image(admin, "debian-12-netinst", public=True, kind=ImageKind.ISO)


def cdrom_of(domain_text):
    domain = etree.fromstring(domain_text.encode())
    [cdrom] = domain.xpath("devices/disk[target/@dev='hdd']") or [None]
    return domain, cdrom


def test_the_default_rule_puts_the_iso_in_a_cdrom_drive_and_boots_it_first(admin, world, iso):
    instance = world["instance_a"]
    instance.cdrom = iso
    domain, cdrom = cdrom_of(pipeline.render(instance).domain_text)
    assert cdrom.get("device") == "cdrom" and cdrom.find("readonly") is not None
    assert cdrom.find("source").get("file") == f"{instance.node.images_path}/{iso.ec2_id}"
    assert [boot.get("dev") for boot in domain.iterfind("os/boot")] == ["cdrom", "hd"]


def test_without_an_iso_there_is_no_cdrom_drive_and_the_disk_boots(world):
    domain, cdrom = cdrom_of(pipeline.render(world["instance_a"]).domain_text)
    assert cdrom is None
    assert [boot.get("dev") for boot in domain.iterfind("os/boot")] == ["hd"]


def test_an_instance_launched_with_an_iso_has_it_defined(
    api, admin, world, sim_node, iso, queue, run_jobs
):
    assert probe_and_record(sim_node)
    api.force_authenticate(admin)
    body = {"image": world["public_image"].ec2_id, "instance_type": "m1.small", "cdrom": iso.ec2_id}
    response = api.post("/api/v1/instances/", body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["instances"][0]["cdrom"] == iso.ec2_id
    run_jobs()
    instance = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    assert instance.vm_state == VmState.ACTIVE, Action.objects.get(instance=instance).error
    _, cdrom = cdrom_of(instance.domain_xml)
    assert cdrom.find("source").get("file").endswith(f"/{iso.ec2_id}")


def test_only_an_iso_image_goes_in_the_cdrom_drive(api, admin, world):
    api.force_authenticate(admin)
    machine = world["public_image"].ec2_id
    body = {"image": machine, "instance_type": "m1.small", "cdrom": machine}
    response = api.post("/api/v1/instances/", body, format="json")
    assert response.status_code == 400 and "cdrom" in response.json()


def test_an_iso_image_must_be_registered_raw(admin_client, tmp_path):
    path = tmp_path / "netinst.iso"
    path.write_bytes(b"\0" * 2048)
    form = {"kind": "iso", "name": "netinst", "format": "qcow2", "location": str(path)}
    response = admin_client.post("/images/new/", form)
    assert "An ISO image is raw." in response.content.decode()


def test_an_iso_images_page_offers_to_install_from_it(admin_client, iso):
    page = admin_client.get(f"/images/{iso.ec2_id}/").content.decode()
    assert f'href="/install-image/?iso={iso.ec2_id}">Install from it…' in page
    form = admin_client.get(f"/install-image/?iso={iso.ec2_id}").content.decode()
    assert f'<option value="{iso.ec2_id}" selected>' in form


def install_form(world, **fields):
    return {
        "name": "debian",
        "boot_params": "",
        "disk_gib": 2,
        "image": world["public_image"].ec2_id,
        "instance_type": "m1.small",
        **fields,
    }


def test_install_an_image_boots_an_iso_with_a_blank_volume(admin_client, admin, world, iso, queue):
    response = admin_client.post("/install-image/", install_form(world, iso=iso.ec2_id))
    instance = Instance.objects.get(name="installing debian")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (instance.cdrom, instance.kernel) == (iso, None)
    assert Volume.objects.get(instance=instance).size_gib == 2


@pytest.mark.parametrize("with_iso", [False, True])
def test_install_an_image_wants_a_kernel_and_ramdisk_or_an_iso(admin_client, world, iso, with_iso):
    kernel = make_image(world["public_image"].owner, "k", public=True, kind=ImageKind.KERNEL)
    ramdisk = make_image(world["public_image"].owner, "r", public=True, kind=ImageKind.RAMDISK)
    both = {"kernel": kernel.ec2_id, "ramdisk": ramdisk.ec2_id, "iso": iso.ec2_id}
    fields = both if with_iso else {"kernel": kernel.ec2_id}
    response = admin_client.post("/install-image/", install_form(world, **fields))
    assert "Pick the installer&#x27;s kernel and ramdisk, or its ISO image." in (
        response.content.decode()
    )
    assert not Instance.objects.filter(name="installing debian").exists()


def test_a_qemu_guest_gets_the_iso_in_its_cdrom_drive(demo, admin, api, queue, run_jobs, settings):
    settings.KUMO_PROBE_TIMEOUT = 30  # a libvirtd just started probes QEMU's capabilities
    local = Node.objects.get(name="local")
    assert probe_and_record(local), local.last_error
    path = settings.KUMO_IMAGES_DIR / "installer.iso"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(configdrive.build("i-00000000", "installer", [], b""))
    iso = Image.objects.create(
        owner=admin,
        kind=ImageKind.ISO,
        name="installer-iso",
        format=ImageFormat.RAW,
        location=str(path),
        size_bytes=path.stat().st_size,
    )
    api.force_authenticate(admin)
    body = {
        "image": Image.objects.get(kind="machine").ec2_id,
        "cdrom": iso.ec2_id,
        "instance_type": "m1.small",
        "node": "local",
    }
    response = api.post("/api/v1/instances/", body, format="json")
    assert response.status_code == 202, response.json()
    run_jobs()
    instance = Instance.objects.get(ec2_id=response.json()["instances"][0]["id"])
    assert instance.vm_state == VmState.ACTIVE, instance.actions.get().error
    with Hypervisor(local.endpoint(), 10) as hypervisor:
        live = hypervisor.live_xml(hypervisor.require(instance.uuid))
    _, cdrom = cdrom_of(live)
    assert cdrom.get("device") == "cdrom"
    assert cdrom.find("source").get("file") == f"{local.images_path}/{iso.ec2_id}"
    operations.request_action(instance, ActionKind.TERMINATE, admin)
    run_jobs()
