"""The serial console bridge: one libvirt console stream per domain, shared by the sessions
on it (no port on the node)."""

import contextlib
import logging
import socket
import threading

from django.conf import settings

from nodes.libvirt import Hypervisor, NodeError
from nodes.libvirt.consoles import SerialStream

log = logging.getLogger("kumo.consoleproxy")


class SerialHub:
    """One domain's serial console, shared by the sessions on it: what the guest writes
    goes to every session; what an interactive session types goes to the guest."""

    def __init__(self, instance):
        self.hypervisor = Hypervisor(instance.node.endpoint(), settings.KUMO_PROBE_TIMEOUT)
        self.hypervisor.__enter__()
        try:
            self.stream = SerialStream(self.hypervisor, instance.uuid)
        except NodeError:
            self.hypervisor.__exit__(None, None, None)
            raise
        self.peers = set()
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self.pump, name=f"serial {instance.ec2_id}", daemon=True).start()

    def attach(self):
        ours, theirs = socket.socketpair()
        ours.settimeout(2)  # a session that stops reading is dropped, not waited for
        with self.lock:
            self.peers.add(ours)
        return SerialPeer(self, ours, theirs)

    def detach(self, ours):
        with self.lock:
            self.peers.discard(ours)
            last = not self.peers
        ours.close()
        if last:
            self.close()

    def pump(self):
        while data := self.stream.recv():
            with self.lock:
                peers = list(self.peers)
            for peer in peers:
                try:
                    peer.sendall(data)
                except OSError:
                    self.detach(peer)
        self.close()
        with self.lock:
            for peer in self.peers:
                with contextlib.suppress(OSError):
                    peer.shutdown(socket.SHUT_RDWR)  # the sessions see the console end

    def close(self):
        if not self.closed:
            self.closed = True
            self.stream.close()
            self.hypervisor.__exit__(None, None, None)


class SerialPeer:
    """What a session relays to: reads the hub's output, writes to the guest."""

    def __init__(self, hub, ours, theirs):
        self.hub, self.ours, self.theirs = hub, ours, theirs

    def fileno(self):
        return self.theirs.fileno()

    def recv(self, size):
        return self.theirs.recv(size)

    def sendall(self, data):
        try:
            self.hub.stream.send(data)
        except NodeError as error:
            log.info("serial input dropped: %s", error)

    def close(self):
        self.theirs.close()
        self.hub.detach(self.ours)
