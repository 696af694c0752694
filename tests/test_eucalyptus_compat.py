"""Existing Eucalyptus libvirt.xsl files work unchanged on Kumo's instance.xml: two stylesheets
in the style of stock Eucalyptus 3.x and 4.x, used as the only stage of the chain."""

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from nodes.domainxml import chain, instancexml, pipeline
from nodes.domainxml.facts import Disk, Nic, mac_for, stylesheet_params
from nodes.libvirt import Endpoint, check_definition
from nodes.models import Image, Instance, InstanceType, Node
from tests.domain_facts import BASE
from tests.libvirtd import FIRST

FIXTURES = Path(__file__).with_name("fixtures")
STYLESHEETS = ["eucalyptus3-libvirt.xsl", "eucalyptus4-libvirt.xsl"]
# The seed's instance.xml of Eucalyptus 3.1 (shared/samples/instance-seed.xml), kept here.
SEED = FIXTURES / "eucalyptus3-instance.xml"
XSL = "{http://www.w3.org/1999/XSL/Transform}"
ROOT_PATH = "/var/lib/kumo/instances/i-37F04164/root.img"

# Eucalyptus only knows bridged NICs, so the instance has one.
FACTS = replace(
    BASE,
    cores=2,
    memory_mb=512,
    user_data="",
    vnc_listen="",
    key_name="",
    ssh_key="",
    cpu_mode="none",
    disks=(Disk(ROOT_PATH, "vda", "sda", "i-37F04164-root", format="raw"),),
    nics=(Nic(mac_for("i-37F04164"), "bridge", "eucabr0"),),
)
NO_VIRTIO = replace(FACTS, virtio_root=False, virtio_disk=False, virtio_net=False)
DISK_BOOT = replace(FACTS, kernel_id="", ramdisk_id="", kernel_path="", ramdisk_path="")


def stage(name):
    return chain.Stage(name, (FIXTURES / name).read_text())


def instance_xml(facts, without_kumo=False):
    root = instancexml.build(facts)
    if without_kumo:
        root.remove(root.find("kumo"))
    return instancexml.to_bytes(root)


def render(name, xml, params):
    outcome = chain.run(xml, [stage(name)], params)
    assert outcome.errors == [], [str(problem) for problem in outcome.errors]
    assert outcome.warnings == [], [str(warning) for warning in outcome.warnings]
    return outcome


def domain(name, facts=FACTS):
    outcome = render(name, instance_xml(facts), stylesheet_params(facts))
    return etree.fromstring(outcome.domain_xml)


@pytest.mark.parametrize("name", STYLESHEETS)
def test_eucalyptus_stylesheet_turns_kumos_instance_xml_into_a_domain(name):
    result = domain(name)
    assert result.tag == "domain" and result.get("type") == "kvm"
    assert result.findtext("name") == "i-37F04164"
    assert result.findtext("uuid") == "5085ae2c-0000-4000-8000-37f04164a1b2"
    assert result.findtext("memory") == "524288" and result.findtext("vcpu") == "2"
    assert result.xpath("/domain/os/kernel/text()") == ["/var/lib/kumo/images/eki-1A2B3C4D"]
    assert result.xpath("/domain/os/initrd/text()") == ["/var/lib/kumo/images/eri-5A6B7C8D"]
    assert result.xpath("/domain/devices/disk/source/@file") == [ROOT_PATH]
    assert result.xpath("/domain/devices/interface/source/@bridge") == ["eucabr0"]
    assert result.xpath("/domain/devices/interface/mac/@address") == ["D0:0D:37:F0:41:64"]
    assert result.xpath("/domain/devices/serial/source/@path") == [FACTS.console_log_path]


@pytest.mark.parametrize("facts", [FACTS, NO_VIRTIO, DISK_BOOT], ids=["virtio", "scsi", "disk"])
@pytest.mark.parametrize("name", STYLESHEETS)
def test_libvirt_accepts_what_eucalyptus_stylesheets_make(name, facts):
    outcome = render(name, instance_xml(facts), stylesheet_params(facts))
    check_definition(Endpoint(FIRST.test_uri), outcome.domain_xml, 10)


@pytest.mark.parametrize("name", STYLESHEETS)
def test_kvm_with_virtio_root_puts_the_disk_on_vda_virtio(name):
    result = domain(name)
    assert result.xpath("/domain/devices/disk/target/@dev") == ["vda"]
    assert result.xpath("/domain/devices/disk/target/@bus") == ["virtio"]
    assert result.xpath("string(/domain/os/cmdline)") == "root=/dev/vda1 console=ttyS0"
    assert result.xpath("/domain/devices/interface/model/@type") == ["virtio"]


@pytest.mark.parametrize("name", STYLESHEETS)
def test_without_virtio_the_disk_stays_sda_on_scsi(name):
    result = domain(name, NO_VIRTIO)
    assert result.xpath("/domain/devices/disk/target/@dev") == ["sda"]
    assert result.xpath("/domain/devices/disk/target/@bus") == ["scsi"]
    assert result.xpath("string(/domain/os/cmdline)") == "root=/dev/sda1 console=ttyS0"


def test_eucalyptus3_gives_no_nic_model_without_virtio_networking():
    result = domain("eucalyptus3-libvirt.xsl", NO_VIRTIO)
    assert result.xpath("/domain/devices/interface/model") == []


def test_eucalyptus4_takes_the_nic_model_from_nictype():
    result = domain("eucalyptus4-libvirt.xsl", NO_VIRTIO)
    assert instancexml.build(NO_VIRTIO).findtext("NicType") == "e1000"
    assert result.xpath("/domain/devices/interface/model/@type") == ["e1000"]


@pytest.mark.parametrize("name", STYLESHEETS)
def test_without_a_kernel_eucalyptus_stylesheets_boot_from_the_disk(name):
    result = domain(name, DISK_BOOT)
    assert result.xpath("/domain/os/boot/@dev") == ["hd"]
    assert result.xpath("/domain/os/kernel | /domain/os/cmdline") == []


@pytest.mark.parametrize("name", STYLESHEETS)
def test_eucalyptus_stylesheets_need_neither_kumo_element_nor_kumo_params(name):
    with_kumo = render(name, instance_xml(FACTS), stylesheet_params(FACTS))
    without = render(name, instance_xml(FACTS, without_kumo=True), {})
    assert without.domain_xml == with_kumo.domain_xml
    check_definition(Endpoint(FIRST.test_uri), without.domain_xml, 10)


@pytest.mark.parametrize("name", STYLESHEETS)
def test_eucalyptus_stylesheets_read_nothing_under_instance_kumo(name):
    root = etree.parse(str(FIXTURES / name)).getroot()
    expressions = [
        value
        for element in root.iter(f"{XSL}*")
        for attribute, value in element.attrib.items()
        if attribute in ("select", "test", "match")
    ]
    assert sum("/instance/" in expression for expression in expressions) > 20
    assert not [e for e in expressions if "kumo" in e.lower()]
    assert root.xpath("/xsl:stylesheet/xsl:param", namespaces={"xsl": XSL[1:-1]}) == []


@pytest.mark.parametrize("name", STYLESHEETS)
def test_eucalyptus_stylesheets_refuse_hypervisors_they_do_not_know(name):
    facts = replace(FACTS, domain_type="test")
    outcome = chain.run(instance_xml(facts), [stage(name)], stylesheet_params(facts))
    assert outcome.domain_xml is None
    assert "hypervisor type 'test'" in outcome.errors[0].message
    assert outcome.errors[0].stage == name


@pytest.mark.parametrize("name", STYLESHEETS)
def test_eucalyptus_stylesheets_transform_the_eucalyptus_3_1_instance_xml(name):
    seed = etree.parse(str(SEED)).getroot()
    device = seed.findtext("disks/diskPath")
    outcome = render(name, SEED.read_bytes(), {})
    result = etree.fromstring(outcome.domain_xml)
    assert result.findtext("name") == "i-37F04164"
    assert result.xpath("/domain/devices/disk[@type='block']/source/@dev") == [device]
    assert result.xpath("/domain/devices/disk/target/@dev") == ["vda"]
    assert result.xpath("/domain/devices/interface/source/@bridge") == ["eucabr558"]
    assert result.xpath("/domain/os/boot/@dev") == ["hd"]
    check_definition(Endpoint(FIRST.test_uri), outcome.domain_xml, 10)


@pytest.mark.parametrize(
    ("name", "domain_type"),
    [("eucalyptus3-libvirt.xsl", "kvm"), ("eucalyptus4-libvirt.xsl", "qemu")],
)
def test_a_eucalyptus_stylesheet_saved_as_the_default_is_defined_by_qemu(
    demo, admin, name, domain_type
):
    """As an admin brings one: pasted as the default stylesheet, rendered by the same
    pipeline as a launch, defined by the local QEMU driver."""
    node = Node.objects.get(name="local")
    Node.objects.filter(pk=node.pk).update(domain_type=domain_type, nic_type="bridge")
    pipeline.default_rule().revise((FIXTURES / name).read_text(), admin, "from Eucalyptus")
    instance = Instance.objects.create(
        owner=admin,
        cluster=node.cluster,
        node=Node.objects.get(pk=node.pk),
        image=Image.objects.get(kind="machine"),
        kernel=Image.objects.get(kind="kernel"),
        ramdisk=Image.objects.get(kind="ramdisk"),
        instance_type=InstanceType.objects.get(name="m1.small"),
    )
    rendered = pipeline.render(instance)
    assert rendered.outcome.errors == []
    assert rendered.stylesheets[0]["revision"] == 2
    check_definition(Endpoint(FIRST.qemu_uri), rendered.outcome.domain_xml, 10)
