"""instance.xml: the Eucalyptus-compatible description of an instance that stylesheets read.

Built with lxml from InstanceFacts, never from text templates. The layout is Eucalyptus 4.x
(a superset of 3.x) with the 3.x duplicates, so that an existing /etc/eucalyptus/libvirt.xsl
works unchanged; Kumo's own data sits in one separate element, <kumo>, that stock
stylesheets never read. docs/domain-xml.md describes every field.
"""

from lxml import etree

from nodes.domainxml.facts import InstanceFacts

BITNESS = {"x86_64": "64", "aarch64": "64", "i686": "32"}
CAPABILITY = {"kvm": "hw", "xen": "xen", "qemu": "sw", "test": "sw"}


def text_element(parent, tag, text):
    element = etree.SubElement(parent, tag)
    element.text = "" if text is None else str(text)
    return element


def flag(value):
    return "true" if value else "false"


def build(facts: InstanceFacts) -> etree._Element:
    root = etree.Element("instance")
    etree.SubElement(
        root,
        "hypervisor",
        type=facts.domain_type,
        capability=CAPABILITY.get(facts.domain_type, "hw"),
        bitness=BITNESS.get(facts.arch, "64"),
        requiresDisk="true",
    )
    etree.SubElement(etree.SubElement(root, "backing"), "root", type="image")
    add_identity(root, facts)
    add_sizes(root, facts)
    etree.SubElement(
        root,
        "key",
        doInjectKey=flag(bool(facts.ssh_key)),
        isKeyInjected="false",
        sshKey=facts.ssh_key,
    )
    etree.SubElement(
        root,
        "os",
        platform=facts.platform,
        virtioRoot=flag(facts.virtio_root),
        virtioDisk=flag(facts.virtio_disk),
        virtioNetwork=flag(facts.virtio_net),
    )
    add_disks(root, facts)
    add_volumes(root, facts)
    add_nics(root, facts)
    add_kumo(root, facts)
    return root


def add_identity(root, facts):
    for tag, value in [
        ("name", facts.instance_id),
        ("uuid", facts.uuid),
        ("reservation", facts.reservation_id),
        ("user", facts.owner),
        ("owner", facts.owner),
        ("account", facts.owner),
        ("imageId", facts.image_id),
        ("kernelId", facts.kernel_id),
        ("ramdiskId", facts.ramdisk_id),
        ("dnsName", ""),
        ("privateDnsName", ""),
        ("instancePath", facts.instance_path),
    ]:
        text_element(root, tag, value)
    if facts.kernel_path:
        text_element(root, "kernel", facts.kernel_path)
    if facts.ramdisk_path:
        text_element(root, "ramdisk", facts.ramdisk_path)
    text_element(root, "consoleLogPath", facts.console_log_path)
    text_element(root, "userData", facts.user_data)
    text_element(root, "launchIndex", facts.launch_index)


def add_sizes(root, facts):
    for tag, value in [
        ("cpuPassthrough", flag(facts.cpu_mode == "host-passthrough")),
        ("cores", facts.cores),
        ("memoryKB", facts.memory_kb),
        ("diskGB", facts.disk_gb),
        ("VmType", facts.instance_type),
        ("NicType", "virtio" if facts.virtio_net else "e1000"),
        ("rootDirective", facts.root_directive),
    ]:
        text_element(root, tag, value)


def add_disks(root, facts):
    disks = etree.SubElement(root, "disks")
    for disk in facts.disks:
        add_disk_path(disks, disk, facts.virtio_root)
    etree.SubElement(disks, "root", device=facts.root_device)


def add_volumes(root, facts):
    """Attached volumes as Eucalyptus lists them, each with the diskPath of its disk."""
    volumes = etree.SubElement(root, "volumes")
    for disk in facts.volumes:
        volume = etree.SubElement(
            volumes, "volume", id=disk.serial, localDev=disk.target_virtio, state="attached"
        )
        add_disk_path(volume, disk, facts.virtio_disk)


def add_disk_path(parent, disk, virtio):
    attributes = {
        "targetDeviceType": "disk",
        "targetDeviceName": disk.target_legacy,
        "targetDeviceBus": disk.bus_legacy,
        "sourceType": disk.source_type,
        "serial": disk.serial,
        "format": disk.format,
    }
    if virtio:
        attributes["targetDeviceNameVirtio"] = disk.target_virtio
        attributes["targetDeviceBusVirtio"] = "virtio"
    text_element(parent, "diskPath", disk.path).attrib.update(attributes)


def add_nics(root, facts):
    nics = etree.SubElement(root, "nics")
    for nic in facts.nics:
        attributes = {"mac": nic.mac, "vlan": "", "type": nic.kind}
        attributes["bridgeDeviceName"] = nic.source if nic.kind == "bridge" else ""
        attributes["networkName"] = nic.source if nic.kind == "network" else ""
        # As in Eucalyptus's SYSTEM mode: no NAT, the address found is public and private.
        attributes["privateIp"] = attributes["publicIp"] = facts.private_ip(nic.mac)
        etree.SubElement(nics, "nic", attributes)


def add_kumo(root, facts):
    """Kumo's own data: what stock Eucalyptus stylesheets do not know and ignore."""
    kumo = etree.SubElement(root, "kumo", version="1")
    etree.SubElement(
        kumo,
        "ids",
        instance=facts.instance_id,
        name=facts.name,
        owner=facts.owner,
        image=facts.image_id,
        node=facts.node_name,
        cluster=facts.cluster_name,
    )
    etree.SubElement(kumo, "domain", type=facts.domain_type, arch=facts.arch, vmMode=facts.vm_mode)
    etree.SubElement(
        kumo,
        "console",
        vnc=flag(bool(facts.vnc_listen)),
        listen=facts.vnc_listen,
        password=facts.vnc_password,
    )
    etree.SubElement(kumo, "cpu", mode=facts.cpu_mode, model=facts.cpu_model)
    if facts.config_drive:
        etree.SubElement(kumo, "configDrive", path=facts.config_drive)
    if facts.cdrom_path:
        etree.SubElement(kumo, "cdrom", path=facts.cdrom_path)
    clock = etree.SubElement(
        kumo, "clock", offset="localtime" if facts.platform == "windows" else "utc"
    )
    for name, policy in [("pit", "delay"), ("rtc", "catchup")]:
        etree.SubElement(clock, "timer", name=name, tickpolicy=policy)
    etree.SubElement(clock, "timer", name="hpet", present="no")
    etree.SubElement(
        kumo,
        "tuning",
        weight=str(facts.cpu_weight),
        cap=str(facts.cpu_cap),
        currentMemoryKB=str(facts.current_memory_kb),
        currentCores=str(facts.current_cores),
    )
    etree.SubElement(
        kumo,
        "boot",
        params=facts.boot_params,
        cmdline=f"{facts.root_directive} console={facts.console_device}",
    )
    addresses = etree.SubElement(kumo, "addresses")
    for address in facts.addresses:
        etree.SubElement(
            addresses,
            "address",
            mac=address.mac,
            network=address.network,
            ip=address.ip,
            prefix=str(address.prefix),
            family=address.family,
            source=address.source,
        )
    metadata = etree.SubElement(kumo, "metadata")
    for key, value in facts.metadata:
        text_element(metadata, "item", value).set("key", key)


def to_bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
