"""Domains on a node: define, start, stop, pause, save, snapshot, undefine, and their state."""

import contextlib
import time
import uuid

import libvirt
from lxml import etree

from nodes.libvirt import addresses, stats
from nodes.libvirt.connection import NodeError, explain, open_connection

CHECK_PREFIX = "kumo-check-"  # throw-away definitions of check_definition
CAP_PERIOD_US = 100_000  # the CPU cap's period: a cap of 50 % is 50 ms of CPU per 100 ms
POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: "nostate",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_SHUTOFF: "shutoff",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "pmsuspended",
}


def check_definition(endpoint, domain_xml, timeout):
    """Ask the node's libvirt whether it accepts domain_xml, leaving nothing behind.

    The domain is defined under a throw-away name and UUID with schema validation on, then
    undefined. Raises NodeError with libvirt's reason when it refuses.
    """
    domain = etree.fromstring(domain_xml)
    domain.find("name").text = f"{CHECK_PREFIX}{uuid.uuid4().hex[:12]}"
    for element in domain.findall("uuid"):
        domain.remove(element)
    with Hypervisor(endpoint, timeout) as hypervisor:
        hypervisor.define(etree.tostring(domain, encoding="unicode")).undefine()


def disk_with_source(domain_xml, path):
    """The <disk> of domain_xml whose source is path, as XML text, or None."""
    for disk in etree.fromstring(domain_xml.encode()).iterfind("devices/disk"):
        source = disk.find("source")
        if source is not None and path in (source.get("file"), source.get("dev")):
            return etree.tostring(disk, encoding="unicode")
    return None


class Hypervisor:
    """A connection to one node, used as a context manager; every libvirt error comes out
    as a NodeError that says what to do."""

    def __init__(self, endpoint, timeout):
        self.endpoint, self.timeout = endpoint, timeout
        self.connection = None

    def __enter__(self):
        self.connection = open_connection(self.endpoint, self.timeout)
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(libvirt.libvirtError):
            self.connection.close()

    def call(self, what, function, *args):
        try:
            return function(*args)
        except libvirt.libvirtError as error:
            raise NodeError(f"{what}: {explain(error, self.endpoint)}") from error

    def domain(self, domain_uuid):
        """The domain with this UUID, or None when the node has no such domain."""
        try:
            return self.connection.lookupByUUIDString(str(domain_uuid))
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise NodeError(explain(error, self.endpoint)) from error

    def power_state(self, domain_uuid):
        domain = self.domain(domain_uuid)
        if domain is None:
            return "nostate"
        try:
            state = domain.state()[0]
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return "nostate"  # it went between the two calls (a migration's, cleared)
            raise NodeError(f"Reading the domain state: {explain(error, self.endpoint)}") from error
        return POWER_STATES.get(state, "nostate")

    def define(self, domain_xml):
        return self.call(
            "libvirt refuses this domain",
            self.connection.defineXMLFlags,
            domain_xml,
            libvirt.VIR_DOMAIN_DEFINE_VALIDATE,
        )

    def is_active(self, domain):
        return self.call("Reading the domain state", domain.isActive)

    def start(self, domain_uuid):
        domain = self.require(domain_uuid)
        if not self.is_active(domain):
            self.call("Starting the domain", domain.create)

    def destroy(self, domain_uuid):
        domain = self.domain(domain_uuid)
        if domain is not None and self.is_active(domain):
            self.call("Forcing the domain off", domain.destroy)

    def discard_managed_save(self, domain_uuid):
        """Drop a suspended domain's saved memory, so that it boots afresh."""
        domain = self.require(domain_uuid)
        if self.call("Reading the managed save", domain.hasManagedSaveImage, 0):
            self.call("Removing the managed save", domain.managedSaveRemove, 0)

    def shutdown(self, domain_uuid, timeout, resend_every=10, beat=lambda: None):
        """ACPI power-off, re-sent every resend_every s; True if it went off in time. beat()
        is called every second of the wait (it may raise to stop waiting)."""
        domain = self.require(domain_uuid)
        deadline = time.monotonic() + timeout
        while self.is_active(domain) and time.monotonic() < deadline:
            self.call("Asking the guest to power off", domain.shutdown)
            resend = min(deadline, time.monotonic() + resend_every)
            while self.is_active(domain) and time.monotonic() < resend:
                time.sleep(0.2)
                beat()
        return not self.is_active(domain)

    def reboot(self, domain_uuid):
        self.call("Asking the guest to reboot", self.require(domain_uuid).reboot, 0)

    def pause(self, domain_uuid):
        self.call("Pausing the domain", self.require(domain_uuid).suspend)

    def unpause(self, domain_uuid):
        self.call("Unpausing the domain", self.require(domain_uuid).resume)

    def managed_save(self, domain_uuid):
        self.call(
            "Saving the domain's memory (managed save)", self.require(domain_uuid).managedSave, 0
        )

    def snapshot(self, domain_uuid, name, description):
        xml = etree.Element("domainsnapshot")
        etree.SubElement(xml, "name").text = name
        etree.SubElement(xml, "description").text = description
        self.call(
            "Taking the snapshot",
            self.require(domain_uuid).snapshotCreateXML,
            etree.tostring(xml, encoding="unicode"),
            0,
        )

    def revert_snapshot(self, domain_uuid, name):
        domain = self.require(domain_uuid)
        snapshot = self.call(f"Finding snapshot {name}", domain.snapshotLookupByName, name, 0)
        self.call(f"Reverting to snapshot {name}", domain.revertToSnapshot, snapshot, 0)

    def delete_snapshot(self, domain_uuid, name):
        domain = self.require(domain_uuid)
        snapshot = self.call(f"Finding snapshot {name}", domain.snapshotLookupByName, name, 0)
        self.call(f"Deleting snapshot {name}", snapshot.delete, 0)

    def attach_disk(self, domain_uuid, disk_xml, path):
        """Add the disk (its source path) to the definition and, if the domain runs, live;
        where it is already (a retry), it is left as it is. When the live attach fails, the
        definition is given back without it."""
        domain = self.require(domain_uuid)
        added = disk_with_source(self.definition(domain), path) is None
        if added:
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            self.call(
                "Attaching the disk to the definition", domain.attachDeviceFlags, disk_xml, flags
            )
        if not self.is_active(domain) or disk_with_source(self.live_xml(domain), path):
            return
        try:
            flags = libvirt.VIR_DOMAIN_AFFECT_LIVE
            self.call(
                "Attaching the disk to the running guest", domain.attachDeviceFlags, disk_xml, flags
            )
        except NodeError:
            if added:
                flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
                with contextlib.suppress(libvirt.libvirtError):
                    domain.detachDeviceFlags(disk_xml, flags)
            raise

    def detach_disk(self, domain_uuid, path, timeout, beat=lambda: None):
        """Remove the disk with this source path from the definition and, if the domain
        runs, ask the guest to let it go: True once it is gone, False if the guest has not
        answered within timeout s (a virtio unplug needs the guest kernel's answer). beat()
        is called every fraction of a second of the wait (it may raise to stop waiting)."""
        domain = self.require(domain_uuid)
        persistent = disk_with_source(self.definition(domain), path)
        if persistent is not None:
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            self.call(
                "Detaching the disk from the definition",
                domain.detachDeviceFlags,
                persistent,
                flags,
            )
        if not self.is_active(domain):
            return True
        live = disk_with_source(self.live_xml(domain), path)
        if live is None:
            return True
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE
        self.call("Asking the guest to release the disk", domain.detachDeviceFlags, live, flags)
        deadline = time.monotonic() + timeout
        while disk_with_source(self.live_xml(domain), path) is not None:
            if time.monotonic() >= deadline or not self.is_active(domain):
                return not self.is_active(domain)
            time.sleep(0.2)
            beat()
        return True

    def set_cpu_tuning(self, domain_uuid, weight, cap):
        """CPU weight (1-65536) as cgroup shares (x4: libvirt's normal 1024 is weight 256)
        and cap (% of one CPU; 0: none) as a quota on the whole domain, live if it runs and
        in its definition: two calls, the binding refuses both flags in one."""
        domain = self.require(domain_uuid)
        params = {
            "cpu_shares": weight * 4,
            "global_period": CAP_PERIOD_US,
            "global_quota": cap * CAP_PERIOD_US // 100 if cap else -1,
        }
        if self.connection.getType() == "TEST":  # no cgroups: only a "weight" it ignores
            return
        for flag in self.affected(domain):
            self.call(
                "Setting the CPU weight and cap", domain.setSchedulerParametersFlags, params, flag
            )

    def set_memory(self, domain_uuid, memory_mib):
        """The memory the guest has (up to its maximum): the balloon, live and defined."""
        domain = self.require(domain_uuid)
        for flag in self.affected(domain):
            self.call("Setting the memory", domain.setMemoryFlags, memory_mib * 1024, flag)

    def set_vcpus(self, domain_uuid, vcpus):
        """The vCPUs the guest has (up to its maximum), hot-plugged live and defined; a guest
        that does not release a vCPU makes it a NodeError."""
        domain = self.require(domain_uuid)
        for flag in self.affected(domain):
            self.call("Setting the vCPUs", domain.setVcpusFlags, vcpus, flag)

    def affected(self, domain):
        """The flags a change is made with: live first when the domain runs, then defined."""
        live = [libvirt.VIR_DOMAIN_AFFECT_LIVE] if self.is_active(domain) else []
        return [*live, libvirt.VIR_DOMAIN_AFFECT_CONFIG]

    def definition(self, domain):
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE
        return self.call("Reading the domain definition", domain.XMLDesc, flags)

    def migratable_xml(self, domain, defined=False):
        """The XML another node defines the domain from: running (or defined), with its
        secrets (the VNC password) and without what this node generated."""
        flags = libvirt.VIR_DOMAIN_XML_MIGRATABLE | libvirt.VIR_DOMAIN_XML_SECURE
        if defined:
            flags |= libvirt.VIR_DOMAIN_XML_INACTIVE
        return self.call("Reading the domain XML", domain.XMLDesc, flags)

    def live_xml(self, domain):
        return self.call("Reading the domain XML", domain.XMLDesc, 0)

    def undefine(self, domain_uuid):
        """Remove the definition with its managed save and snapshot metadata."""
        domain = self.domain(domain_uuid)
        if domain is None:
            return
        flags = (
            libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        )
        self.call("Removing the domain definition", domain.undefineFlags, flags)

    def domain_xml(self, domain_uuid):
        return self.call("Reading the domain XML", self.require(domain_uuid).XMLDesc, 0)

    def domains(self):
        """(uuid, name, power state) of every domain on the node."""

        def listed():
            return [
                (d.UUIDString(), d.name(), POWER_STATES.get(d.state()[0], "nostate"))
                for d in self.connection.listAllDomains(0)
            ]

        return self.call("Listing the domains", listed)

    def addresses(self, domain_uuid):
        """The addresses of a running domain's NICs (nodes/libvirt/addresses.py); none when
        the domain is gone or no longer runs."""
        try:
            return addresses.domain_addresses(self.connection.lookupByUUIDString(str(domain_uuid)))
        except libvirt.libvirtError as error:
            if error.get_error_code() in (
                libvirt.VIR_ERR_NO_DOMAIN,
                libvirt.VIR_ERR_OPERATION_INVALID,
            ):
                return []
            raise NodeError(f"Reading the addresses: {explain(error, self.endpoint)}") from error

    def require(self, domain_uuid):
        domain = self.domain(domain_uuid)
        if domain is None:
            raise NodeError(f"The node has no domain {domain_uuid}: was it undefined by hand?")
        return domain

    def counters(self):
        """(the host's counters, {domain UUID: counters}) as nodes/libvirt/stats.py reads them."""
        return self.call(
            "Reading the statistics",
            lambda: (stats.node_counters(self.connection), stats.domain_counters(self.connection)),
        )

    def diagnostics(self, domain_uuid):
        """The running domain's diagnostics (nodes/libvirt/stats.py's `diagnostics`) with
        its state; NodeError when it does not run on the node."""
        domain = self.require(domain_uuid)
        if not self.is_active(domain):
            raise NodeError(
                f"Domain {domain_uuid} is not running on the node: diagnostics are read from a "
                "running domain. Start it, then refresh."
            )
        state = self.call("Reading the domain state", domain.state)[0]
        read = self.call("Reading the diagnostics", stats.diagnostics, domain)
        return {"state": POWER_STATES.get(state, "nostate"), "driver": "libvirt", **read}
