"""The one seam to libvirt. Nothing outside this package imports libvirt."""

from nodes.libvirt.connection import Endpoint, NodeError, open_connection
from nodes.libvirt.domains import Hypervisor, check_definition
from nodes.libvirt.probe import probe
from nodes.libvirt.storage import Storage

__all__ = [
    "Endpoint",
    "Hypervisor",
    "NodeError",
    "Storage",
    "check_definition",
    "open_connection",
    "probe",
]
