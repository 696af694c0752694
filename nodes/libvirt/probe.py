"""Discovering what a node offers: architecture, CPUs, memory, versions, domain types."""

import libvirt
from lxml import etree

from nodes.libvirt.connection import NodeError, explain, open_connection, within
from nodes.libvirt.storage import storage_pools
from nodes.storage.models import IMAGES_POOL


def version_text(number):
    """libvirt packs versions as major * 1,000,000 + minor * 1,000 + release."""
    if not number:
        return ""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def supported_domain_types(capabilities_xml):
    tree = etree.fromstring(capabilities_xml.encode())
    return sorted(set(tree.xpath("/capabilities/guest/arch/domain/@type")))


def disk_gb(connection):
    """Size of the filesystem holding the node's images pool (None before Kumo created it:
    a probe looks, it does not create)."""
    try:
        pool = connection.storagePoolLookupByName(IMAGES_POOL)
        if pool.isActive():
            pool.refresh(0)
            return pool.info()[1] // (1 << 30)
    except libvirt.libvirtError:
        pass
    return None


def probe(endpoint, timeout, skip_pool=lambda name: False):
    """Open the node and return its facts as a dict of Node field values and its
    "storage_pools" but those skip_pool(name) picks (see storage.storage_pools), all within
    `timeout` seconds (a daemon that accepts the connection and then stalls counts as down).

    Raises NodeError with a message a person can act on.
    """
    return within(timeout, lambda: discover(endpoint, timeout, skip_pool), endpoint)


def discover(endpoint, timeout, skip_pool):
    connection = open_connection(endpoint, timeout)
    try:
        model, memory_mb, cpus, *_ = connection.getInfo()
        return {
            "hostname": connection.getHostname(),
            "arch": model,
            "cpus": cpus,
            "memory_mb": memory_mb,
            "hypervisor": connection.getType(),
            "hypervisor_version": version_text(connection.getVersion()),
            "libvirt_version": version_text(connection.getLibVersion()),
            "supported_domain_types": supported_domain_types(connection.getCapabilities()),
            "disk_gb": disk_gb(connection),
            "storage_pools": storage_pools(connection, skip_pool),
        }
    except libvirt.libvirtError as error:
        raise NodeError(explain(error, endpoint)) from error
    finally:
        connection.close()
