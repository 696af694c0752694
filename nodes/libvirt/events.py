"""Lifecycle events from nodes: one long-lived connection per node, reconnected with backoff
when its daemon goes away."""

import contextlib
import logging
import threading
import time

import libvirt

from nodes.libvirt.connection import NodeError, open_connection

log = logging.getLogger("nodes.watcher")

# The power state a lifecycle event leaves the domain in (None: no change to report).
EVENT_POWER = {
    libvirt.VIR_DOMAIN_EVENT_STARTED: "running",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "paused",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "running",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "shutoff",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: None,  # a STOPPED event follows
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "nostate",
    libvirt.VIR_DOMAIN_EVENT_DEFINED: None,
}

_loop_started = threading.Lock()
_loop_running = False


def start_event_loop():
    """libvirt's default event loop, once per process, in a daemon thread."""
    global _loop_running
    with _loop_started:
        if _loop_running:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _loop_running = True


class NodeEvents:
    """Keeps a connection to one node and reports lifecycle events as
    on_event(domain uuid, power state)."""

    def __init__(self, endpoint, timeout, on_event):
        self.endpoint, self.timeout, self.on_event = endpoint, timeout, on_event
        self.connection = None
        self.callback = None
        self.failures = 0
        self.next_try = 0.0
        self.last_error = ""

    @property
    def connected(self):
        return self.connection is not None

    def ensure(self):
        """Connect if not connected and the backoff allows; True when connected."""
        if self.connected and not self.alive():
            self.close()
        if self.connected or time.monotonic() < self.next_try:
            return self.connected
        try:
            connection = open_connection(self.endpoint, self.timeout)
            connection.registerCloseCallback(self._closed, None)
            self.callback = connection.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None
            )
        except (NodeError, libvirt.libvirtError) as error:
            self.failures += 1
            self.next_try = time.monotonic() + min(60, 2**self.failures)
            self.last_error = str(error)
            log.warning(
                "no events from %s (retrying in %.0f s): %s",
                self.endpoint.uri,
                self.next_try - time.monotonic(),
                error,
            )
            return False
        self.connection, self.failures, self.last_error = connection, 0, ""
        return True

    def _lifecycle(self, _connection, domain, event, _detail, _opaque):
        power = EVENT_POWER.get(event)
        if power:
            self.on_event(domain.UUIDString(), power)

    def _closed(self, _connection, reason, _opaque):
        self.connection = None
        self.next_try = time.monotonic() + 1
        self.last_error = f"connection closed (reason {reason})"
        log.warning("events from %s stopped: %s", self.endpoint.uri, self.last_error)

    def alive(self):
        try:
            return bool(self.connection.isAlive())
        except libvirt.libvirtError:
            return False

    def close(self):
        if self.connection is not None:
            with contextlib.suppress(libvirt.libvirtError):
                # Events already queued must not reach on_event once we are closed.
                self.connection.domainEventDeregisterAny(self.callback)
                self.connection.close()
            self.connection = None
