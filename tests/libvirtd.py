"""The tests' own libvirt daemons (nodes/libvirt/private.py): the one every QEMU and
test-driver test uses, and a second one for tests that need two."""

from nodes.libvirt.private import NETWORK, DaemonFailed, PrivateLibvirtd

FIRST = PrivateLibvirtd("a")
SECOND = PrivateLibvirtd("b")

__all__ = ["FIRST", "NETWORK", "SECOND", "DaemonFailed", "PrivateLibvirtd"]
