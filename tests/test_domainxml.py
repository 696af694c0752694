"""instance.xml and the default stylesheet: golden files per domain type, and libvirt's own
validation of what they make. Set UPDATE_GOLDEN=1 to rewrite the golden files."""

import os
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from nodes.domainxml import chain, instancexml, sandbox
from nodes.domainxml.facts import boot_params, stylesheet_params
from nodes.domainxml.pipeline import shipped_default_text
from nodes.libvirt import Endpoint, NodeError, check_definition
from tests.domain_facts import BASE, BY_DOMAIN_TYPE, user_data
from tests.libvirtd import FIRST

GOLDEN = Path(__file__).with_name("golden")


def matches_golden(name, content: bytes):
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(content)
    assert path.exists(), f"{name} has no golden file: run with UPDATE_GOLDEN=1 and review it"
    assert content.decode() == path.read_text(), f"{name} differs from its golden file"


def render(facts, stages=None):
    xml = instancexml.to_bytes(instancexml.build(facts))
    stages = stages or [chain.Stage("default", shipped_default_text())]
    return chain.run(xml, stages, stylesheet_params(facts))


@pytest.mark.parametrize("domain_type", sorted(BY_DOMAIN_TYPE))
def test_instance_xml_matches_its_golden_file(domain_type):
    facts = BY_DOMAIN_TYPE[domain_type]
    matches_golden(f"instance-{domain_type}.xml", instancexml.to_bytes(instancexml.build(facts)))


@pytest.mark.parametrize("domain_type", sorted(BY_DOMAIN_TYPE))
def test_the_default_stylesheet_matches_its_golden_file(domain_type):
    outcome = render(BY_DOMAIN_TYPE[domain_type])
    assert outcome.errors == []
    matches_golden(f"domain-{domain_type}.xml", outcome.domain_xml)


@pytest.mark.parametrize("domain_type", ["kvm", "qemu", "test", "xen"])
def test_the_default_output_is_valid_against_libvirts_schema(domain_type):
    assert render(BY_DOMAIN_TYPE[domain_type]).warnings == []


def test_xen_guests_get_xen_disks_consoles_and_root_device():
    paravirtual = etree.fromstring(render(BY_DOMAIN_TYPE["xen"]).domain_xml)
    assert paravirtual.xpath("/domain/os/cmdline/text()") == ["root=/dev/xvda1 console=hvc0"]
    assert paravirtual.xpath("//disk/target/@bus") == ["xen"]
    assert paravirtual.xpath("//disk/driver/@type") == ["qcow2"]
    assert paravirtual.xpath("//console/target/@type") == ["xen"] and not paravirtual.xpath(
        "/domain/devices/serial"
    )
    assert paravirtual.xpath("//video/model/@type") == ["xen"]
    hvm = replace(BY_DOMAIN_TYPE["xen"], vm_mode="hvm", virtio_root=True)
    outcome = render(hvm)
    assert outcome.warnings == []
    domain = etree.fromstring(outcome.domain_xml)
    assert domain.xpath("//disk/target/@dev") == ["xvda"]
    assert domain.xpath("/domain/os/cmdline/text()") == ["root=/dev/xvda1 console=ttyS0"]
    assert domain.xpath("/domain/devices/serial/log/@file")


@pytest.mark.parametrize(
    ("domain_type", "uri"),
    [("qemu", FIRST.qemu_uri), ("kvm", FIRST.qemu_uri), ("test", FIRST.test_uri)],
)
def test_libvirt_accepts_the_default_output(domain_type, uri):
    check_definition(Endpoint(uri), render(BY_DOMAIN_TYPE[domain_type]).domain_xml, 10)


def test_libvirt_refusing_a_domain_says_why():
    domain = render(BY_DOMAIN_TYPE["test"]).domain_xml
    broken = domain.replace(b'<vcpu placement="static">1', b'<vcpu placement="static">0')
    with pytest.raises(NodeError, match="libvirt refuses this domain"):
        check_definition(Endpoint(FIRST.test_uri), broken, 10)


def test_instance_xml_keeps_the_eucalyptus_3_layout():
    root = instancexml.build(BASE)
    for path in [
        "/instance/hypervisor/@type",
        "/instance/backing/root/@type",
        "/instance/name",
        "/instance/kernel",
        "/instance/ramdisk",
        "/instance/cores",
        "/instance/memoryKB",
        "/instance/os/@virtioRoot",
        "/instance/disks/diskPath/@targetDeviceNameVirtio",
        "/instance/disks/root/@device",
        "/instance/nics/nic/@mac",
        "/instance/key/@sshKey",
    ]:
        assert root.xpath(path), path
    assert root.xpath("string(/instance/memoryKB)") == "262144"
    assert root.xpath("string(/instance/nics/nic/@mac)") == "D0:0D:37:F0:41:64"


def test_kumos_own_data_sits_in_one_element():
    root = instancexml.build(BASE)
    assert len(root.findall("kumo")) == 1
    assert root.xpath("string(/instance/kumo/boot/@params)") == "console=ttyS0 priority=low"
    metadata = {item.get("key"): item.text for item in root.iterfind("kumo/metadata/item")}
    assert metadata["instance-id"] == "i-37F04164" and metadata["public-keys/0"] == "main"
    assert metadata["ami-launch-index"] == "0" and metadata["kernel-id"] == "eki-1A2B3C4D"


def test_no_kernel_means_disk_boot():
    from dataclasses import replace

    outcome = render(replace(BASE, kernel_id="", kernel_path="", ramdisk_id="", ramdisk_path=""))
    domain = etree.fromstring(outcome.domain_xml)
    assert domain.xpath("/domain/os/boot/@dev") == ["hd"] and not domain.xpath("/domain/os/kernel")


def test_legacy_images_get_the_eucalyptus_scsi_layout():
    from dataclasses import replace

    domain = etree.fromstring(render(replace(BASE, virtio_root=False)).domain_xml)
    assert domain.xpath("/domain/devices/disk/target/@dev") == ["sda"]
    assert domain.xpath("/domain/devices/disk/target/@bus") == ["scsi"]


def test_boot_params_come_from_the_last_bootparams_line():
    assert (
        boot_params(user_data("a=1\nbootparams=first\nbootparams=ip=dhcp vnc\n")) == "ip=dhcp vnc"
    )
    assert boot_params(user_data("nothing here")) == ""
    assert boot_params("not base64 !!") == ""


def test_unicode_in_names_and_user_data_survives():
    from dataclasses import replace

    facts = replace(BASE, name="web-ü-雲", user_data=user_data("bootparams=lang=日本語\n"))
    outcome = render(facts)
    domain = etree.fromstring(outcome.domain_xml)
    assert domain.findtext("title") == "web-ü-雲"
    assert instancexml.build(facts).xpath("string(/instance/kumo/boot/@params)") == "lang=日本語"


def test_the_sandbox_gives_the_same_result_as_the_chain():
    facts = BY_DOMAIN_TYPE["qemu"]
    xml = instancexml.to_bytes(instancexml.build(facts))
    stages = [chain.Stage("default", shipped_default_text())]
    direct = chain.run(xml, stages, stylesheet_params(facts))
    assert sandbox.render(xml, stages, stylesheet_params(facts)).domain_xml == direct.domain_xml
