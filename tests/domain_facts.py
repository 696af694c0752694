"""Fixed InstanceFacts for golden files and pure pipeline tests."""

import base64
from dataclasses import replace

from nodes.domainxml.facts import Address, Disk, InstanceFacts, Nic, mac_for


def user_data(text):
    return base64.b64encode(text.encode()).decode()


BASE = InstanceFacts(
    instance_id="i-37F04164",
    uuid="5085ae2c-0000-4000-8000-37f04164a1b2",
    reservation_id="r-4A5B6C7D",
    owner="bob",
    name="web-1",
    image_id="emi-0A1B2C3D",
    instance_type="m1.small",
    cores=1,
    memory_mb=256,
    disk_gb=5,
    instance_path="/var/lib/kumo/instances/i-37F04164",
    node_name="local",
    cluster_name="demo",
    domain_type="kvm",
    kernel_id="eki-1A2B3C4D",
    ramdisk_id="eri-5A6B7C8D",
    kernel_path="/var/lib/kumo/images/eki-1A2B3C4D",
    ramdisk_path="/var/lib/kumo/images/eri-5A6B7C8D",
    user_data=user_data("#!/bin/sh\nbootparams=console=ttyS0 priority=low\n"),
    key_name="main",
    ssh_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm8 bob@laptop",
    cpu_mode="host-model",
    vnc_listen="127.0.0.1",
    vnc_password="Xk3t9Qa2",
    disks=(Disk("/var/lib/kumo/instances/i-37F04164/root.qcow2", "vda", "sda", "i-37F04164-root"),),
    nics=(Nic(mac_for("i-37F04164"), "network", "default"),),
    addresses=(
        Address("d0:0d:37:f0:41:64", "192.168.122.23", 24, "ipv4", "default", "lease"),
        Address("d0:0d:37:f0:41:64", "fe80::d20d:37ff:fef0:4164", 64, "ipv6", "default", "agent"),
    ),
)

BY_DOMAIN_TYPE = {
    "kvm": BASE,
    "qemu": replace(BASE, domain_type="qemu", cpu_mode="none"),
    "xen": replace(
        BASE,
        domain_type="xen",
        vm_mode="xen",
        cpu_mode="none",
        virtio_root=False,
        nics=(Nic(mac_for("i-37F04164"), "bridge", "xenbr0"),),
        addresses=(Address("d0:0d:37:f0:41:64", "10.0.0.23", 24, "ipv4", "xenbr0", "arp"),),
    ),
    "test": replace(BASE, domain_type="test", cpu_mode="none", vnc_listen=""),
}
