"""Everything instance.xml says about an instance, as plain frozen data (no Django)."""

import base64
import binascii
import re
from dataclasses import dataclass, field

from nodes.xmltext import xml_safe


@dataclass(frozen=True)
class Disk:
    path: str
    target_virtio: str  # vda, vdb …
    target_legacy: str  # sda, sdb … as Eucalyptus names them without virtio
    serial: str
    format: str = "qcow2"
    source_type: str = "file"  # or block
    bus_legacy: str = "scsi"


@dataclass(frozen=True)
class Nic:
    mac: str
    kind: str = "network"  # user, network or bridge
    source: str = "default"  # network or bridge name; empty for user


@dataclass(frozen=True)
class Address:
    """An address libvirt reported on one of the instance's NICs (by its MAC)."""

    mac: str
    ip: str
    prefix: int
    family: str = "ipv4"  # or ipv6
    network: str = ""
    source: str = "lease"  # lease, agent or arp


@dataclass(frozen=True)
class InstanceFacts:
    instance_id: str
    uuid: str
    reservation_id: str
    owner: str
    image_id: str
    instance_type: str
    cores: int
    memory_mb: int
    disk_gb: int
    instance_path: str
    node_name: str
    cluster_name: str
    domain_type: str
    name: str = ""
    kernel_id: str = ""
    ramdisk_id: str = ""
    kernel_path: str = ""
    ramdisk_path: str = ""
    user_data: str = ""  # base64, as EC2 stores it
    launch_index: int = 0
    platform: str = "linux"
    arch: str = "x86_64"
    vm_mode: str = "hvm"
    virtio_root: bool = True
    virtio_disk: bool = True
    virtio_net: bool = True
    key_name: str = ""
    ssh_key: str = ""
    cpu_weight: int = 256  # XenServer's weight (seed 002): share of contended CPU time
    cpu_cap: int = 0  # % of one CPU the whole instance may use; 0: no cap
    current_memory_mb: int = 0  # tuned below memory_mb (balloon); 0: all of it
    current_vcpus: int = 0  # tuned below cores (hot-plugged); 0: all of them
    cpu_mode: str = "none"  # host-model, host-passthrough, custom, none
    cpu_model: str = ""
    vnc_listen: str = ""  # empty: no VNC graphics
    vnc_password: str = ""
    config_drive: str = ""  # path of the NoCloud ISO on the node; empty: none
    cdrom_path: str = ""  # path of the ISO image in the CD-ROM drive on the node; empty: none
    disks: tuple[Disk, ...] = ()
    volumes: tuple[Disk, ...] = ()  # attached ones, their serial the volume id
    nics: tuple[Nic, ...] = ()
    addresses: tuple[Address, ...] = ()  # of every NIC, rules' extra ones too
    extra_metadata: tuple[tuple[str, str], ...] = field(default=())

    def private_ip(self, mac):
        """Eucalyptus's privateIp of the NIC with this MAC: its first IPv4, else 0.0.0.0."""
        for address in self.addresses:
            if address.mac.lower() == mac.lower() and address.family == "ipv4":
                return address.ip
        return "0.0.0.0"  # noqa: S104  (Eucalyptus's "none yet")

    @property
    def memory_kb(self):
        return self.memory_mb * 1024

    @property
    def current_memory_kb(self):
        return (self.current_memory_mb or self.memory_mb) * 1024

    @property
    def current_cores(self):
        return self.current_vcpus or self.cores

    @property
    def console_log_path(self):
        return f"{self.instance_path}/console.log"

    @property
    def paravirtual(self):
        return self.domain_type == "xen" and self.vm_mode == "xen"

    @property
    def root_device(self):
        if self.domain_type == "xen":
            return "xvda"
        return "vda" if self.virtio_root else "sda"

    @property
    def console_device(self):
        """The guest's console: Xen's PV console for paravirtual guests, else the serial port."""
        return "hvc0" if self.paravirtual else "ttyS0"

    @property
    def root_directive(self):
        return f"root=/dev/{self.root_device}1"

    @property
    def boot_params(self):
        return boot_params(self.user_data)

    @property
    def metadata(self):
        """The EC2 metadata keys of an instance (as `ec2-metadata` lists them)."""
        items = [
            ("instance-id", self.instance_id),
            ("ami-id", self.image_id),
            ("kernel-id", self.kernel_id),
            ("ramdisk-id", self.ramdisk_id),
            ("instance-type", self.instance_type),
            ("local-hostname", self.instance_id.lower()),
            ("public-keys/0", self.key_name),
            ("reservation-id", self.reservation_id),
            ("ami-launch-index", str(self.launch_index)),
        ]
        return [(key, value) for key, value in items if value] + list(self.extra_metadata)


def mac_for(instance_id):
    """Eucalyptus's MAC for an instance: D0:0D and the id's 8 hex digits (i-37F04164 →
    D0:0D:37:F0:41:64)."""
    digits = instance_id.split("-", 1)[1].upper()
    return "D0:0D:" + ":".join(digits[i : i + 2] for i in range(0, 8, 2))


def decoded_user_data(user_data):
    try:
        return base64.b64decode(user_data, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def boot_params(user_data):
    """The value of the last `bootparams=` line of the user data, as in seed 003."""
    found = re.findall(r"^\s*bootparams=(.*?)\s*$", decoded_user_data(user_data), re.M)
    return xml_safe(found[-1]) if found else ""


def stylesheet_params(facts: InstanceFacts):
    """The values every stylesheet of the chain receives as XSLT string parameters
    (declare the ones you use with <xsl:param name="…"/>). Characters XML cannot carry
    become U+FFFD: whatever the user data holds, it cannot stop a render."""
    params = {
        "instance_id": facts.instance_id,
        "instance_name": facts.name,
        "owner": facts.owner,
        "image_id": facts.image_id,
        "kernel_id": facts.kernel_id,
        "ramdisk_id": facts.ramdisk_id,
        "instance_type": facts.instance_type,
        "node": facts.node_name,
        "cluster": facts.cluster_name,
        "domain_type": facts.domain_type,
        "platform": facts.platform,
        "bootparams": facts.boot_params,
        "cpu_weight": str(facts.cpu_weight),
        "cpu_cap": str(facts.cpu_cap),
        "memory_mb": str(facts.current_memory_kb // 1024),
        "vcpus": str(facts.current_cores),
        "user_data": decoded_user_data(facts.user_data),
    }
    return {name: xml_safe(value) for name, value in params.items()}
