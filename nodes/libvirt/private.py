"""libvirt daemons of Kumo's own, never the machine's (DESIGN.md §9): the tests' two
(tests/libvirtd.py) and the demo's second node, `local-2` (`manage.py privatelibvirtd`).

Each is a root `libvirtd` in a mount namespace of its own (`unshare -m`), with private
directories bind-mounted over /etc/libvirt (a copy of the system's, without its domains,
pools, networks' autostart links and hooks), /run/libvirt, /var/lib/libvirt,
/var/cache/libvirt and /var/log/libvirt, its socket in a directory of its own and a host UUID
of its own (so that two of them can migrate to each other). QEMU logs to files (no virtlogd).
It serves the QEMU driver and the test driver; guests get the isolated network
`kumo-isolated` (a bridge with no address and no forwarding): nothing they send leaves the
machine. A daemon is stopped (and restarted) by its pid.

A daemon starts on fresh directories, unless it keeps its state (the demo's: its guests'
definitions and disks outlive a `make run`).
"""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import libvirt

from nodes.libvirt import Endpoint, NodeError, open_connection

ROOT = Path(__file__).resolve().parent.parent.parent
# Short, so that socket paths stay under the 108 bytes a unix socket's address may take.
CHECKOUT = hashlib.sha256(str(ROOT).encode()).hexdigest()[:6]  # two checkouts, two sets
BASE = Path("/tmp") / f"kumo-libvirtd-{CHECKOUT}"  # noqa: S108 (short: see above)
PRIVATE = ("/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt")
NETWORK = "kumo-isolated"
START_TIMEOUT_S = 30


class DaemonFailed(Exception):
    """A private daemon did not come up; the message ends with its log's last lines."""


class PrivateLibvirtd:
    def __init__(self, name, keep_state=False, qemu_as_root=True):
        self.name, self.keep_state, self.qemu_as_root = name, keep_state, qemu_as_root
        self.dir = BASE / name
        self.process = None

    @property
    def socket(self):
        return self.dir / "sock" / "libvirt-sock"

    @property
    def qemu_uri(self):
        return f"qemu+unix:///system?socket={self.socket}"

    @property
    def test_uri(self):
        return f"test+unix:///default?socket={self.socket}"

    @property
    def host_uuid(self):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kumo/{ROOT}/{self.name}"))

    @property
    def bridge(self):
        """Its network's bridge: one per checkout and daemon (15 characters at most)."""
        return f"kumo{CHECKOUT}{self.name}"

    def node_paths(self):
        """Where a node on this daemon keeps images, instances and volumes: under its own
        directory, so that tests leave nothing in the machine's /var/lib/kumo and two nodes
        on one machine never share a disk's path."""
        return {
            f"{kind}_path": str(self.dir / "kumo" / kind)
            for kind in ("images", "instances", "volumes")
        }

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self):
        """Start the daemon (on fresh directories, unless it keeps its state and has some);
        DaemonFailed when it does not answer."""
        self.forget_previous_run()
        kept = self.keep_state and (self.dir / "etc").is_dir()
        if not kept:
            self.prepare()
        self.spawn()
        self.start_network(define=not kept)
        self.warm_up()

    def spawn(self):
        with open(self.dir / "libvirtd.log", "ab") as log:
            self.process = subprocess.Popen(
                ["unshare", "-m", "--propagation", "private", "sh", "-c", self.script()],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until_up()

    def script(self):
        mounts = [f"mount --bind {self.dir / 'etc'} /etc/libvirt"]
        for path in PRIVATE:
            mounts.append(f"mkdir -p {path} && mount --bind {self.dir / path.strip('/')} {path}")
        pid_file = self.dir / "libvirtd.pid"
        return " && ".join([*mounts, f"exec libvirtd --pid-file {pid_file}"])

    def prepare(self):
        """Fresh directories, but for QEMU's capabilities cache (probing QEMU takes seconds)."""
        for entry in self.dir.glob("*"):
            if entry.name != "var":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        for path in PRIVATE:
            if path != "/var/cache/libvirt":
                shutil.rmtree(self.dir / path.strip("/"), ignore_errors=True)
            (self.dir / path.strip("/")).mkdir(parents=True, exist_ok=True)
        (self.dir / "sock").mkdir()
        (self.dir / "var/lib/libvirt/qemu").mkdir()
        shutil.copytree("/etc/libvirt", self.dir / "etc", symlinks=True)
        for machines_own in ("qemu", "storage", "hooks", "secrets"):
            shutil.rmtree(self.dir / "etc" / machines_own, ignore_errors=True)
        (self.dir / "etc/qemu/networks").mkdir(parents=True)
        with open(self.dir / "etc/libvirtd.conf", "a") as conf:
            conf.write(
                f'\nunix_sock_dir = "{self.socket.parent}"\nhost_uuid = "{self.host_uuid}"\n'
            )
        with open(self.dir / "etc/qemu.conf", "a") as conf:
            conf.write('\nstdio_handler = "file"\n')
            if self.qemu_as_root:
                # /dev/kvm may be root's alone in a container, and libvirt re-probes QEMU
                # (seconds) on every call when its user cannot open what the probe used.
                conf.write('user = "root"\ngroup = "root"\n')

    def wait_until_up(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DaemonFailed(f"libvirtd {self.name} exited: {self.log_tail()}")
            with contextlib.suppress(NodeError):
                open_connection(Endpoint(self.qemu_uri), 2).close()
                return
            time.sleep(0.2)
        self.stop()
        raise DaemonFailed(
            f"libvirtd {self.name} did not answer within {START_TIMEOUT_S} s: {self.log_tail()}"
        )

    def log_tail(self, lines=15):
        path = self.dir / "libvirtd.log"
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start_network(self, define):
        """The isolated network guests get: a bridge of this daemon's, no address, no way out."""
        self.remove_stale_bridge()
        xml = f"<network><name>{NETWORK}</name><bridge name='{self.bridge}' stp='off'/></network>"
        connection = self.connect()
        try:
            network = (
                connection.networkDefineXML(xml)
                if define
                else connection.networkLookupByName(NETWORK)
            )
            network.create()
        finally:
            connection.close()

    def warm_up(self):
        """A new daemon probes QEMU on its first calls: make them now, not in a test."""
        connection = self.connect()
        try:
            connection.getCapabilities()
            connection.getDomainCapabilities(None, None, None, "qemu", 0)
        finally:
            connection.close()

    def remove_stale_bridge(self):
        if Path(f"/sys/class/net/{self.bridge}").exists():
            subprocess.run(["ip", "link", "delete", self.bridge], check=False)

    def connect(self):
        return open_connection(Endpoint(self.qemu_uri), 10)

    def stop(self):
        """Destroy the guests it runs (they outlive a daemon), then stop it by its pid."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(NodeError, libvirt.libvirtError):
                self.destroy_guests()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.remove_stale_bridge()

    def restart(self):
        """Stop it by its pid and start it again on the same state (a daemon restart)."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(20)
        self.spawn()
        self.warm_up()

    def destroy_guests(self):
        connection = self.connect()
        try:
            for domain in connection.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                with contextlib.suppress(libvirt.libvirtError):
                    domain.destroy()
        finally:
            connection.close()

    def forget_previous_run(self):
        """A daemon a killed run left behind: its guests and itself go first."""
        pid_file = self.dir / "libvirtd.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, ProcessLookupError, NodeError, libvirt.libvirtError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 0)
            self.destroy_guests()
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)


# The second node of the demo cloud (`make run`), on this machine: QEMU runs as the
# machine's daemon runs it, since both use the images' files (`make run` gives /dev/kvm to
# the kvm group).
DEMO_SECOND = PrivateLibvirtd("run", keep_state=True, qemu_as_root=False)
