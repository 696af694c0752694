"""The built-in rule library: each rule after Kumo's default stylesheet, on instance.xml built
from real InstanceFacts, with its effect checked by XPath, libvirt's schema and libvirt's test
driver."""

import base64
import re
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from nodes.domainxml import chain, instancexml, library
from nodes.domainxml.facts import Disk, stylesheet_params
from nodes.libvirt import Endpoint, check_definition
from tests.domain_facts import BASE
from tests.libvirtd import FIRST

DEFAULT_XSL = Path(chain.__file__).with_name("default.xsl").read_text()
VOLUME_PATH = (
    "/dev/disk/by-path/ip-10.0.0.5:3260-iscsi-iqn.2010-10.com.eucalyptus:store.vol-14AE3F68-lun-1"
)
ROOT_PATH = "/var/lib/kumo/instances/i-37F04164/root.qcow2"


def encoded(text):
    return base64.b64encode(text.encode()).decode()


KERNEL_BOOT = replace(
    BASE,
    cores=2,
    memory_mb=512,
    user_data=encoded("#!/bin/sh\nbootparams=console=ttyS0 quiet\n"),
    vnc_listen="",
    key_name="",
    ssh_key="",
    disks=(
        Disk(ROOT_PATH, "vda", "sda", "i-37F04164-root"),
        Disk(VOLUME_PATH, "vdb", "sdb", "old-serial", format="raw", source_type="block"),
    ),
)
DISK_BOOT = replace(KERNEL_BOOT, kernel_id="", ramdisk_id="", kernel_path="", ramdisk_path="")
VARIANTS = {"kernel-boot": KERNEL_BOOT, "disk-boot": DISK_BOOT}
SLUGS = [rule.slug for rule in library.LIBRARY]

DROP_CMDLINE = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
  </xsl:template>
  <xsl:template match="/domain/os/cmdline"/>
</xsl:stylesheet>"""


def run(slug, facts=KERNEL_BOOT, before=(), times=1, **params):
    """The chain default → (before…) → the library rule (times times)."""
    xml = instancexml.to_bytes(instancexml.build(facts))
    stages = [chain.Stage("default", DEFAULT_XSL), *before]
    stages += [chain.Stage(slug, library.get(slug).text)] * times
    return chain.run(xml, stages, stylesheet_params(facts) | params)


def domain_of(outcome):
    assert outcome.errors == []
    assert outcome.warnings == [], [str(warning) for warning in outcome.warnings]
    return etree.fromstring(outcome.domain_xml)


def default_domain(facts=KERNEL_BOOT):
    xml = instancexml.to_bytes(instancexml.build(facts))
    outcome = chain.run(xml, [chain.Stage("default", DEFAULT_XSL)], stylesheet_params(facts))
    return domain_of(outcome)


def canonical(element):
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(etree.tostring(element), parser), method="c14n")


def following_tag(element):
    return element.getnext().tag


def preceding_tag(element):
    return element.getprevious().tag


# The registry


def test_the_library_lists_eight_rules_in_order_with_explanations():
    assert SLUGS == [
        "hugepages",
        "legacy-no-virtio",
        "cache-none",
        "boot-params",
        "vnc-debug",
        "cpu-passthrough",
        "extra-nic",
        "disk-serial-volume-id",
    ]
    for rule in library.LIBRARY:
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", rule.explanation.strip())
        assert rule.title.strip() and 2 <= len(sentences) <= 4, rule.slug
        assert rule.explanation.strip().endswith("."), rule.slug


def test_get_finds_a_rule_by_slug_and_refuses_unknown_ones():
    assert library.get("hugepages") is library.LIBRARY[0]
    with pytest.raises(KeyError):
        library.get("no-such-rule")


@pytest.mark.parametrize("slug", SLUGS)
def test_each_rule_is_a_stylesheet_that_starts_with_a_comment_explaining_it(slug):
    text = library.get(slug).text
    root = etree.fromstring(text.encode())
    comment = root.getprevious()
    assert isinstance(comment, etree._Comment) and len(comment.text.split()) > 25
    assert root.tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"
    assert root.get("version") == "1.0"
    assert chain.compile_problems(chain.Stage(slug, text)) == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("slug", SLUGS)
def test_each_rule_keeps_the_domain_valid_against_libvirts_schema(slug, variant):
    outcome = run(slug, VARIANTS[variant])
    assert outcome.errors == []
    assert outcome.warnings == [], [str(warning) for warning in outcome.warnings]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("slug", SLUGS)
def test_libvirts_test_driver_accepts_each_rules_output(slug, variant):
    outcome = run(slug, VARIANTS[variant])
    assert outcome.errors == []
    check_definition(Endpoint(FIRST.test_uri), outcome.domain_xml, 10)


# hugepages


def test_hugepages_adds_memory_backing():
    domain = domain_of(run("hugepages"))
    backing = domain.xpath("/domain/memoryBacking")
    assert len(backing) == 1 and len(backing[0].xpath("hugepages")) == 1
    assert preceding_tag(backing[0]) == "currentMemory"


def test_hugepages_does_not_duplicate_memory_backing():
    once = domain_of(run("hugepages"))
    twice = domain_of(run("hugepages", times=2))
    assert len(twice.xpath("/domain/memoryBacking/hugepages")) == 1
    assert canonical(once) == canonical(twice)


# legacy-no-virtio


def test_legacy_no_virtio_moves_disks_to_the_ide_bus_as_hd():
    domain = domain_of(run("legacy-no-virtio"))
    assert domain.xpath("/domain/devices/disk/target/@dev") == ["hda", "hdb"]
    assert domain.xpath("/domain/devices/disk/target/@bus") == ["ide", "ide"]
    assert domain.xpath("/domain/devices/disk/source/@file") == [ROOT_PATH]


def test_legacy_no_virtio_points_the_kernel_at_hda1():
    domain = domain_of(run("legacy-no-virtio"))
    assert domain.xpath("string(/domain/os/cmdline)") == "root=/dev/hda1 console=ttyS0"


def test_legacy_no_virtio_also_renames_scsi_disks_and_sda1():
    domain = domain_of(run("legacy-no-virtio", replace(KERNEL_BOOT, virtio_root=False)))
    assert domain.xpath("/domain/devices/disk/target/@dev") == ["hda", "hdb"]
    assert domain.xpath("string(/domain/os/cmdline)") == "root=/dev/hda1 console=ttyS0"


def test_legacy_no_virtio_gives_nics_the_e1000_model():
    domain = domain_of(run("legacy-no-virtio"))
    assert domain.xpath("/domain/devices/interface/model/@type") == ["e1000"]


def test_legacy_no_virtio_on_a_disk_boot_renames_disks_and_adds_no_cmdline():
    domain = domain_of(run("legacy-no-virtio", DISK_BOOT))
    assert domain.xpath("/domain/devices/disk/target/@dev") == ["hda", "hdb"]
    assert not domain.xpath("/domain/os/cmdline")


# cache-none


def test_cache_none_sets_cache_on_every_virtio_disk_driver():
    domain = domain_of(run("cache-none"))
    assert domain.xpath("/domain/devices/disk/driver/@cache") == ["none", "none"]
    assert domain.xpath("/domain/devices/disk/driver/@type") == ["qcow2", "raw"]


def test_cache_none_adds_a_driver_to_a_virtio_disk_without_one():
    domain = domain_of(run("cache-none", replace(KERNEL_BOOT, domain_type="test")))
    assert domain.xpath("/domain/devices/disk/driver/@name") == ["qemu", "qemu"]
    assert domain.xpath("/domain/devices/disk/driver/@cache") == ["none", "none"]


def test_cache_none_leaves_non_virtio_disks_alone():
    domain = domain_of(run("cache-none", replace(KERNEL_BOOT, virtio_root=False)))
    assert domain.xpath("/domain/devices/disk/target/@bus") == ["scsi", "scsi"]
    assert domain.xpath("/domain/devices/disk/driver/@cache") == []


# boot-params


def test_boot_params_appends_the_user_data_bootparams_to_the_cmdline():
    domain = domain_of(run("boot-params"))
    assert (
        domain.xpath("string(/domain/os/cmdline)")
        == "root=/dev/vda1 console=ttyS0 console=ttyS0 quiet"
    )


def test_boot_params_adds_a_cmdline_to_a_kernel_boot_without_one():
    drop = chain.Stage("drop-cmdline", DROP_CMDLINE)
    domain = domain_of(run("boot-params", before=[drop]))
    assert domain.xpath("/domain/os/cmdline/text()") == ["console=ttyS0 quiet"]


def test_boot_params_passes_special_characters_through_as_a_parameter():
    tricky = "ks=http://10.0.0.1/ks.cfg?a=1&b='2' inst.vnc \"<x>\" !@@BOOTPARAMS@@"
    facts = replace(KERNEL_BOOT, user_data=encoded(f"bootparams={tricky}\n"))
    domain = domain_of(run("boot-params", facts))
    assert domain.xpath("string(/domain/os/cmdline)") == f"root=/dev/vda1 console=ttyS0 {tricky}"


def test_boot_params_changes_nothing_without_user_data_or_on_a_disk_boot():
    facts = replace(KERNEL_BOOT, user_data="")
    assert canonical(domain_of(run("boot-params", facts))) == canonical(default_domain(facts))
    disk_boot = domain_of(run("boot-params", DISK_BOOT))
    assert not disk_boot.xpath("/domain/os/cmdline")
    assert canonical(disk_boot) == canonical(default_domain(DISK_BOOT))


# vnc-debug


def test_vnc_debug_adds_a_vnc_console_on_the_loopback_address():
    domain = domain_of(run("vnc-debug"))
    graphics = domain.xpath("/domain/devices/graphics")
    assert len(graphics) == 1
    assert dict(graphics[0].attrib) == {
        "type": "vnc",
        "port": "-1",
        "autoport": "yes",
        "listen": "127.0.0.1",
    }


def test_vnc_debug_listens_where_its_parameter_says():
    domain = domain_of(run("vnc-debug", listen="192.0.2.10"))
    assert domain.xpath("/domain/devices/graphics/@listen") == ["192.0.2.10"]


def test_vnc_debug_keeps_existing_graphics():
    facts = replace(KERNEL_BOOT, vnc_listen="192.168.1.5")
    domain = domain_of(run("vnc-debug", facts))
    assert domain.xpath("/domain/devices/graphics/@listen") == ["192.168.1.5"]


# cpu-passthrough


def test_cpu_passthrough_replaces_the_cpu_between_features_and_clock():
    domain = domain_of(run("cpu-passthrough"))
    cpus = domain.xpath("/domain/cpu")
    assert len(cpus) == 1 and dict(cpus[0].attrib) == {"mode": "host-passthrough"}
    assert preceding_tag(cpus[0]) == "features" and following_tag(cpus[0]) == "clock"


def test_cpu_passthrough_adds_a_cpu_when_there_is_none():
    facts = replace(KERNEL_BOOT, cpu_mode="none")
    assert not default_domain(facts).xpath("/domain/cpu")
    domain = domain_of(run("cpu-passthrough", facts))
    assert domain.xpath("/domain/cpu/@mode") == ["host-passthrough"]


# extra-nic


def test_extra_nic_appends_a_virtio_interface_after_the_last_one():
    domain = domain_of(run("extra-nic"))
    interfaces = domain.xpath("/domain/devices/interface")
    assert len(interfaces) == 2
    extra = interfaces[1]
    assert extra.get("type") == "network" and preceding_tag(extra) == "interface"
    assert extra.xpath("source/@network") == ["default"]
    assert extra.xpath("model/@type") == ["virtio"]
    assert interfaces[0].xpath("mac/@address") == ["D0:0D:37:F0:41:64"]


def test_extra_nic_uses_the_network_parameter():
    domain = domain_of(run("extra-nic", network="storage"))
    assert domain.xpath("/domain/devices/interface[2]/source/@network") == ["storage"]


def test_extra_nic_adds_an_interface_to_a_domain_without_one():
    domain = domain_of(run("extra-nic", replace(KERNEL_BOOT, nics=())))
    assert domain.xpath("/domain/devices/interface/source/@network") == ["default"]


# disk-serial-volume-id


def test_disk_serial_volume_id_replaces_the_serial_of_a_volume():
    domain = domain_of(run("disk-serial-volume-id"))
    assert domain.xpath("/domain/devices/disk/serial/text()") == [
        "i-37F04164-root",
        "vol-14AE3F68",
    ]


def test_disk_serial_volume_id_adds_a_serial_to_a_volume_without_one():
    volume = Disk("/var/lib/kumo/volumes/vol-0a1b2c3d.img", "vdb", "sdb", "", format="raw")
    facts = replace(KERNEL_BOOT, disks=(KERNEL_BOOT.disks[0], volume))
    domain = domain_of(run("disk-serial-volume-id", facts))
    assert domain.xpath("/domain/devices/disk[2]/serial/text()") == ["vol-0a1b2c3d"]


def test_disk_serial_volume_id_ignores_paths_without_a_volume_id():
    odd = (
        Disk("/srv/vol-store/vol-12345/root.img", "vda", "sda", "keep-me"),
        Disk("/srv/vol-0123456789abcdef0.img", "vdb", "sdb", "aws-style"),
    )
    facts = replace(KERNEL_BOOT, disks=odd)
    domain = domain_of(run("disk-serial-volume-id", facts))
    assert domain.xpath("/domain/devices/disk/serial/text()") == ["keep-me", "aws-style"]
    assert canonical(domain) == canonical(default_domain(facts))
