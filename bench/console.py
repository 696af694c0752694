"""Benchmark the console proxy.

Prints one JSON line:
{"direct_mb_s", "proxy_mb_s", "ratio", "connect_p50_ms", "sessions", "proxy_rss_mb",
 "ceiling_direct_mb_s", "ceiling_proxy_mb_s", "ceiling_ratio", "ceiling_connect_p50_ms"}

- direct_mb_s / proxy_mb_s: raw VNC framebuffer updates read from a real QEMU (TCG)
  domain's VNC server, straight over TCP and through the proxy (websocket client in Python);
- connect_p50_ms: from opening the websocket to the first byte of the VNC server, with the
  proxy spending the token, checking access, limits and the live domain's port;
- proxy_rss_mb: the proxy process's resident memory with `sessions` VNC sessions open;
- ceiling_*: the same from a loopback source faster than the proxy, so that the ratio is
  the proxy's own cost against raw TCP (bench/console_ceiling.py; a private libvirt daemon
  of its own answers the proxy's port check).
Targets: ratio ≥ 0.4, connect p50 ≤ 30 ms, 100 sessions in ≤ 1 GiB; ceiling_ratio ≥ 0.8,
ceiling connect p50 ≤ 10 ms. `--ceiling-only` skips the QEMU guest (no machine libvirtd).
Uses its own SQLite database, Redis database 14, a `manage.py rqworker` and the proxy
process (`python -m console.proxy`) as deploy/supervisord.conf runs them.
"""

import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402
from console_ceiling import ceiling  # noqa: E402

ORIGIN = "http://bench.kumo"
SESSIONS = 100
CONNECTS = 50
SECONDS = 3
IN_FLIGHT = 4  # update requests kept outstanding, so no round trip is measured


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command, env):
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=_django.ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "console.settings", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def running_vm(admin):
    from bench.actions import launch, wait_done  # noqa: PLC0415
    from nodes.models import Image, Node

    local = Node.objects.get(name="local")
    instance, action = launch(
        admin,
        local,
        kernel=Image.objects.get(kind="kernel"),
        ramdisk=Image.objects.get(kind="ramdisk"),
    )
    wait_done([action])
    instance.refresh_from_db()
    return instance


class TcpStream:
    def __init__(self, port):
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.buffer = b""

    def more(self):
        return self.socket.recv(1 << 20)

    def send(self, data):
        self.socket.sendall(data)

    def read(self, size):
        while len(self.buffer) < size:
            chunk = self.more()
            if not chunk:
                raise EOFError("the VNC server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def close(self):
        self.socket.close()


class WebSocketStream(TcpStream):
    def __init__(self, url):
        from websockets.sync.client import connect

        self.ws = connect(url, origin=ORIGIN, subprotocols=["binary"], max_size=None, legacy=True)
        self.buffer = b""

    def more(self):
        return self.ws.recv(timeout=10)

    def send(self, data):
        self.ws.send(data)

    def close(self):
        self.ws.close()


def vnc_response(password, challenge):
    """VNC authentication: DES of the challenge, keyed by the password with each byte's bits
    reversed (the RFB protocol's quirk)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    key = bytes(int(f"{byte:08b}"[::-1], 2) for byte in password.encode().ljust(8, b"\0")[:8])
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305  (RFB)
    return encryptor.update(challenge) + encryptor.finalize()


def vnc_handshake(stream, password):
    """RFB 3.8 with VNC authentication, then Raw encoding only; returns (width, height)."""
    version = stream.read(12)
    stream.send(version)
    types = stream.read(stream.read(1)[0])
    assert 2 in types, f"no VNC authentication offered: {types!r}"
    stream.send(b"\x02")
    stream.send(vnc_response(password, stream.read(16)))
    assert stream.read(4) == b"\0\0\0\0", "VNC authentication failed"
    stream.send(b"\x01")  # shared
    width, height = struct.unpack("!HH", stream.read(4))
    stream.read(16)  # pixel format: 32 bpp
    stream.read(struct.unpack("!I", stream.read(4))[0])  # desktop name
    stream.send(struct.pack("!BxHi", 2, 1, 0))  # SetEncodings: Raw
    return width, height


def megabytes_per_second(stream, password):
    """Full (non-incremental) framebuffer updates, back to back, for SECONDS."""
    width, height = vnc_handshake(stream, password)
    request = struct.pack("!BBHHHH", 3, 0, 0, 0, width, height)
    stream.send(request * IN_FLIGHT)
    received, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        stream.send(request)
        kind, rectangles = struct.unpack("!BxH", stream.read(4))
        assert kind == 0, f"unexpected server message {kind}"
        for _ in range(rectangles):
            _x, _y, w, h, _encoding = struct.unpack("!HHHHi", stream.read(12))
            received += len(stream.read(w * h * 4)) + 12
    stream.close()
    return received / (time.perf_counter() - started) / 1e6


def ws_url(instance, admin):
    from django.conf import settings

    from nodes import consoles

    token, _ = consoles.issue(instance, admin, "vnc")
    return f"ws://127.0.0.1:{settings.CONSOLE_PORT}/?token={token}"


def connect_latency(instance, admin):
    latencies = []
    for _ in range(CONNECTS):
        url = ws_url(instance, admin)
        started = time.perf_counter()
        stream = WebSocketStream(url)
        stream.read(1)
        latencies.append((time.perf_counter() - started) * 1000)
        stream.close()
        time.sleep(0.05)  # let the proxy record the session's end before the next limit check
    return statistics.median(latencies)


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


def concurrent_sessions(instance, admin, proxy):
    streams = [WebSocketStream(ws_url(instance, admin)) for _ in range(SESSIONS)]
    for stream in streams:
        stream.read(12)
    memory = rss_mb(proxy.pid)
    for stream in streams:
        stream.close()
    return memory


def through_qemu(admin, proxy):
    """The figures on a real QEMU guest of the demo's local node."""
    from bench.actions import wait_done
    from nodes import operations
    from nodes.choices import ActionKind
    from nodes.models import Node
    from nodes.probing import probe_and_record

    local = Node.objects.get(name="local")
    assert probe_and_record(local), local.last_error
    instance = running_vm(admin)
    time.sleep(1)
    direct = megabytes_per_second(TcpStream(instance.vnc_port), instance.vnc_password)
    proxied = megabytes_per_second(WebSocketStream(ws_url(instance, admin)), instance.vnc_password)
    figures = {
        "direct_mb_s": round(direct, 1),
        "proxy_mb_s": round(proxied, 1),
        "ratio": round(proxied / direct, 2),
        "connect_p50_ms": round(connect_latency(instance, admin), 1),
        "sessions": SESSIONS,
        "proxy_rss_mb": round(concurrent_sessions(instance, admin, proxy), 1),
    }
    wait_done([operations.request_action(instance, ActionKind.TERMINATE, admin)])
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ceiling-only", action="store_true", help="no QEMU guest")
    options = parser.parse_args()
    console_port = free_port()
    os.environ.update(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/14",
            "CONSOLE_PORT": str(console_port),
            "KUMO_CONSOLE_ORIGINS": ORIGIN,
            "KUMO_CONSOLE_SESSIONS_PER_USER": str(SESSIONS * 2),
            "KUMO_CONSOLE_SESSIONS_PER_INSTANCE": str(SESSIONS * 2),
        }
    )
    _django.setup()
    import django_rq
    from django.contrib.auth import get_user_model

    from nodes.models import Node

    django_rq.get_connection("default").flushdb()
    Node.objects.filter(name="sim").update(enabled=False)
    admin = get_user_model().objects.get(username="admin")
    worker = start(
        ["manage.py", "rqworker", "default", "--worker-class", "rq.worker.SimpleWorker"], {}
    )
    proxy = start(["-m", "console.proxy"], {})
    try:
        time.sleep(1)
        figures = {} if options.ceiling_only else through_qemu(admin, proxy)
        figures |= ceiling(admin, ws_url, ORIGIN)
    finally:
        for process in (worker, proxy):
            process.terminate()
            process.wait()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
