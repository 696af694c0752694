"""The NoCloud config drive: what the ISO holds, and how the domain gets it."""

import shutil
import subprocess

import pytest
from lxml import etree

from nodes import configdrive
from nodes.domainxml import pipeline
from nodes.models import Image, Instance, InstanceType, Keypair, Node


def test_the_iso_holds_exactly_meta_data_and_user_data():
    image = configdrive.build(
        "i-1A2B3C4D",
        "i-1a2b3c4d",
        ["ssh-ed25519 AAAAC3Nz bob@laptop"],
        b"#cloud-config\nlocale: fr_FR.UTF-8\n",
    )
    label, files = configdrive.read(image)
    assert label == "cidata" and set(files) == {"meta-data", "user-data"}
    assert files["meta-data"].decode().splitlines() == [
        'instance-id: "i-1A2B3C4D"',
        'local-hostname: "i-1a2b3c4d"',
        "public-keys:",
        '  - "ssh-ed25519 AAAAC3Nz bob@laptop"',
    ]
    assert files["user-data"] == b"#cloud-config\nlocale: fr_FR.UTF-8\n"


@pytest.mark.skipif(shutil.which("blkid") is None, reason="needs blkid")
def test_cloud_init_finds_it_by_its_label(tmp_path):
    path = tmp_path / "config.iso"
    path.write_bytes(configdrive.build("i-1", "i-1", [], b""))
    label = subprocess.run(
        ["blkid", "-o", "value", "-s", "LABEL", path], capture_output=True, text=True
    )
    assert label.stdout.strip() == "cidata"


def test_values_cannot_break_the_yaml():
    text = configdrive.meta_data(
        "i-1", "host", ['ssh-rsa AAAA "quoted" key: with: colons\n- injected']
    )
    assert text.decode().count("\n  - ") == 1 and "\\n- injected" in text.decode()


@pytest.fixture
def cloud_instance(demo, member_a):
    image = Image.objects.get(kind="machine")
    Image.objects.filter(pk=image.pk).update(cloud_init=True)
    image.refresh_from_db()
    keypair, _ = Keypair.generate(member_a, "main")
    node = Node.objects.get(name="sim")
    return Instance.objects.create(
        owner=member_a,
        cluster=node.cluster,
        node=node,
        image=image,
        keypair=keypair,
        instance_type=InstanceType.objects.get(name="m1.small"),
    )


def test_a_cloud_init_image_gets_the_drive_as_a_cdrom(cloud_instance):
    rendered = pipeline.render(cloud_instance)
    assert rendered.outcome.ok and rendered.outcome.warnings == []
    cdrom = etree.fromstring(rendered.outcome.domain_xml).find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").get("file").endswith(f"{cloud_instance.ec2_id}/config.iso")
    assert cdrom.find("readonly") is not None


def test_other_images_get_no_drive(cloud_instance):
    Image.objects.filter(pk=cloud_instance.image_id).update(cloud_init=False)
    cloud_instance.image.refresh_from_db()
    assert "cdrom" not in pipeline.render(cloud_instance).domain_text
