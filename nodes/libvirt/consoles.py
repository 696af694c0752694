"""What the console proxy and the console-output job need from a node: the live VNC port,
the serial console stream, and the tail of the serial log."""

import contextlib

import libvirt
from lxml import etree

from nodes.libvirt.connection import NodeError, explain

LOG_VOLUME = "console.log"


def vnc_port(hypervisor, domain_uuid):
    """The VNC port the running domain listens on now, or None (not running, no VNC)."""
    domain = hypervisor.domain(domain_uuid)
    if domain is None or not domain.isActive():
        return None
    xml = etree.fromstring(hypervisor.call("Reading the domain XML", domain.XMLDesc, 0))
    port = xml.xpath("string(devices/graphics[@type='vnc']/@port)")
    return int(port) if port and int(port) > 0 else None


class SerialStream:
    """The domain's serial console as a blocking byte stream, through the node's libvirt
    connection (no port on the node). Taking it over disconnects any other reader."""

    def __init__(self, hypervisor, domain_uuid):
        self.hypervisor = hypervisor
        domain = hypervisor.require(domain_uuid)
        self.stream = hypervisor.connection.newStream(0)
        try:
            domain.openConsole(None, self.stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        except libvirt.libvirtError as error:
            self.stream.abort()
            raise NodeError(
                f"Opening the serial console: {explain(error, hypervisor.endpoint)}"
            ) from error

    def recv(self, size=4096):
        """Bytes from the guest; b"" when the console closed (the domain stopped)."""
        try:
            data = self.stream.recv(size)
        except libvirt.libvirtError:
            return b""
        return data if isinstance(data, bytes) else b""

    def send(self, data):
        try:
            while data:
                sent = self.stream.send(data)
                data = data[sent:]
        except libvirt.libvirtError as error:
            raise NodeError(f"Writing to the serial console: {error}") from error

    def close(self):
        with contextlib.suppress(libvirt.libvirtError):
            self.stream.abort()


def console_log_tail(storage, pool_name, directory, limit):
    """(the last `limit` bytes of the instance's console log, whether older bytes were left
    out); (b"", False) when there is no log yet."""
    pool = storage.pool(pool_name, directory)
    volume = storage.volume(pool, LOG_VOLUME)
    if volume is None:
        return b"", False
    size = volume.info()[1]
    offset = max(0, size - limit)
    stream = storage.connection.newStream(0)
    chunks = []
    storage.call("Reading the console log", volume.download, stream, offset, size - offset, 0)
    keep = lambda _stream, data, _opaque: chunks.append(data)  # noqa: E731
    storage.call("Reading the console log", stream.recvAll, keep, None)
    storage.call("Reading the console log", stream.finish)
    return b"".join(chunks), offset > 0
