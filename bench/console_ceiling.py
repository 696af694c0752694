"""The console proxy against raw TCP on a source faster than both (bench/console.py's
"ceiling"): a loopback server that streams bytes as fast as the socket takes them, behind
a domain of a private libvirt daemon's test driver whose VNC port is that server's, so that
the proxy does everything it does for a real console (spends the token, checks access and
limits, asks libvirt for the live port) and then relays only.

ceiling(admin) → {"ceiling_direct_mb_s", "ceiling_proxy_mb_s", "ceiling_ratio",
"ceiling_connect_p50_ms"}; the caller runs the proxy and gives its Django settings.
"""

import base64
import os
import socket
import statistics
import struct
import threading
import time
import uuid
from urllib.parse import urlsplit

SOURCE_CHUNK = 4 << 20
SECONDS = 3
CONNECTS = 50
GREETING = b"RFB 003.008\n"  # a VNC server's first words, as the first byte to time


class FastSource:
    """A loopback TCP server: each connection gets GREETING, then bytes without end."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.payload = memoryview(bytes(SOURCE_CHUNK))
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.stream, args=(connection,), daemon=True).start()

    def stream(self, connection):
        with connection:
            try:
                connection.sendall(GREETING)
                while True:
                    connection.sendall(self.payload)
            except OSError:
                return

    def close(self):
        self.listener.close()


def direct_mb_s(port):
    received = 0
    buffer = bytearray(1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as connection:
        started = time.perf_counter()
        while time.perf_counter() - started < SECONDS:
            received += connection.recv_into(buffer)
    return received / (time.perf_counter() - started) / 1e6


class FrameReader:
    """A websocket client that only reads binary frames, into one buffer: a Python
    websocket library copies each frame a few times and would be slower than the proxy."""

    def __init__(self, url, origin):
        address = urlsplit(url)
        self.socket = socket.create_connection((address.hostname, address.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.socket.sendall(
            f"GET {address.path}?{address.query} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
            f"Origin: {origin}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.socket.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        self.pending = answer.split(b"\r\n\r\n", 1)[1]
        self.buffer = memoryview(bytearray(8 << 20))

    def exactly(self, size):
        """size bytes into the buffer's start (the payload is counted, not kept)."""
        taken = min(size, len(self.pending))
        self.buffer[:taken] = self.pending[:taken]
        self.pending = self.pending[taken:]
        while taken < size:
            got = self.socket.recv_into(self.buffer[taken:size])
            if not got:
                raise EOFError("the proxy closed the connection")
            taken += got
        return self.buffer[:size]

    def frame(self):
        """The payload length of the next frame, read whole."""
        first, second = self.exactly(2)
        assert first & 0x0F in (0, 2), f"opcode {first & 0x0F}"
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self.exactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self.exactly(8))[0]
        for offset in range(0, size, len(self.buffer)):
            self.exactly(min(len(self.buffer), size - offset))
        return size

    def close(self):
        self.socket.close()


def proxied_mb_s(url, origin):
    reader = FrameReader(url, origin)
    received, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        received += reader.frame()
    reader.close()
    return received / (time.perf_counter() - started) / 1e6


def connect_p50_ms(issue_url, origin):
    from websockets.sync.client import connect

    latencies = []
    for _ in range(CONNECTS):
        url = issue_url()
        started = time.perf_counter()
        with connect(url, origin=origin, subprotocols=["binary"], max_size=None) as ws:
            ws.recv(timeout=10)
            latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)  # let the proxy record the session's end before the next limit check
    return statistics.median(latencies)


def domain_xml(domain_uuid, port):
    return f"""<domain type='test'>
  <name>kumo-bench-fast-vnc</name><uuid>{domain_uuid}</uuid>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  <devices><graphics type='vnc' port='{port}' autoport='no' listen='127.0.0.1'/></devices>
</domain>"""


def fast_instance(admin, hypervisor, daemon, port):
    """An instance recorded as running on a node of daemon's test driver (hypervisor, whose
    connection keeps the driver's state), its domain's VNC port that of the fast source."""
    from nodes.choices import DomainType, PowerState, VmState
    from nodes.models import Cluster, Image, Instance, InstanceType, Node
    from nodes.probing import probe_and_record

    node = Node.objects.create(
        cluster=Cluster.objects.first(),
        name="fast-vnc",
        uri=daemon.test_uri,
        domain_type=DomainType.TEST,
        vnc_listen="127.0.0.1",
    )
    assert probe_and_record(node), node.last_error
    domain_uuid = uuid.uuid4()
    hypervisor.define(domain_xml(domain_uuid, port))
    hypervisor.start(domain_uuid)
    return Instance.objects.create(
        owner=admin,
        cluster=node.cluster,
        node=node,
        image=Image.objects.filter(kind="machine").first(),
        instance_type=InstanceType.objects.first(),
        uuid=domain_uuid,
        vm_state=VmState.ACTIVE,
        power_state=PowerState.RUNNING,
        vnc_port=port,
    )


def ceiling(admin, ws_url, origin):
    """The figures, with ws_url(instance, admin) giving a console URL with a fresh token."""
    from nodes.libvirt import Endpoint, Hypervisor
    from nodes.libvirt.private import PrivateLibvirtd

    source = FastSource()
    daemon = PrivateLibvirtd("vb")  # short: its bridge is named after it
    daemon.start()
    try:
        with Hypervisor(Endpoint(daemon.test_uri), 10) as hypervisor:
            instance = fast_instance(admin, hypervisor, daemon, source.port)
            figures = measured(instance, admin, ws_url, origin, source.port)
    finally:
        daemon.stop()
        source.close()
    return figures


def measured(instance, admin, ws_url, origin, port):
    direct = direct_mb_s(port)
    proxied = proxied_mb_s(ws_url(instance, admin), origin)
    connect = connect_p50_ms(lambda: ws_url(instance, admin), origin)
    return {
        "ceiling_direct_mb_s": round(direct, 1),
        "ceiling_proxy_mb_s": round(proxied, 1),
        "ceiling_ratio": round(proxied / direct, 2),
        "ceiling_connect_p50_ms": round(connect, 1),
    }
