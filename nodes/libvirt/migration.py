"""Moving a domain between two nodes: what must hold first, the live migration (its disks
copied along when storage is local) with its job's statistics, and sparse copies of volumes
from node to node for a cold migration."""

import contextlib
import threading
from urllib.parse import urlsplit

import libvirt
from lxml import etree

from nodes.libvirt.connection import NodeError

MIB = 1 << 20
# Live, defined on the destination and no longer on the source; the disks' top layers (the
# instance's overlay, its volumes) copied over NBD into files made there first.
LIVE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    | libvirt.VIR_MIGRATE_NON_SHARED_INC
)
# libvirt's names for a migration job's statistics, as the API shows them.
STATISTICS = {
    "data_total_bytes": "data_total",
    "data_processed_bytes": "data_processed",
    "data_remaining_bytes": "data_remaining",
    "disk_total_bytes": "disk_total",
    "disk_processed_bytes": "disk_processed",
    "disk_remaining_bytes": "disk_remaining",
    "memory_dirty_rate": "memory_dirty_rate",
    "memory_iteration": "memory_iteration",
    "expected_downtime_ms": "downtime",
    "elapsed_ms": "time_elapsed",
}


def migration_uri(endpoint):
    """Where the destination's QEMU listens for the migration stream: its host, or the
    loopback for a node on this machine (libvirt refuses a host name resolving to it)."""
    if endpoint.is_this_host:
        return "tcp://127.0.0.1"
    return f"tcp://{urlsplit(endpoint.uri).hostname}"


def refuse_incompatible(source, target, domain_xml):
    """NodeError saying why target cannot run the domain source runs: another hypervisor,
    no such architecture and domain type, or a CPU lacking what the guest was given."""
    domain = etree.fromstring(domain_xml.encode())
    kind, arch = domain.get("type"), domain.find("os/type").get("arch")
    here = source.call("Reading the source's type", source.connection.getType)
    there = target.call("Reading the destination's type", target.connection.getType)
    if here != there:
        raise NodeError(f"The destination runs {there}, the source {here}.")
    capabilities = etree.fromstring(
        target.call("Reading the destination's capabilities", target.connection.getCapabilities)
    )
    guests = capabilities.xpath(f"guest[arch/@name='{arch}']/arch/domain/@type")
    if kind not in guests:
        raise NodeError(f"The destination cannot run {arch} guests of domain type {kind}.")
    cpu = domain.find("cpu")
    if cpu is not None and cpu.find("model") is not None:
        machine = domain.find("os/type").get("machine")
        refuse_other_cpu(target, etree.tostring(cpu, encoding="unicode"), arch, machine, kind)


def refuse_other_cpu(target, cpu_xml, arch, machine, kind):
    """NodeError when the destination's hypervisor cannot give the guest its CPU (libvirt's
    compareHypervisorCPU: the host's CPU as KVM exposes it, or what TCG emulates)."""
    verdict = target.call(
        "Comparing the guest's CPU with the destination's",
        target.connection.compareHypervisorCPU,
        None,
        arch,
        machine,
        kind,
        cpu_xml,
        0,
    )
    if verdict == libvirt.VIR_CPU_COMPARE_INCOMPATIBLE:
        raise NodeError(
            "The destination's CPU lacks features the guest's CPU has: it cannot run there "
            "without a reboot. Give the cluster a CPU model every node has (CPU mode custom), "
            "or migrate it stopped."
        )


def relocated(domain_xml, moves):
    """domain_xml with every file path under a key of moves (a directory) moved under its
    value: the disks, kernel, initrd and logs as the destination keeps them."""
    domain = etree.fromstring(domain_xml.encode())
    for element in domain.iter():
        for attribute in ("file", "path"):
            if element.get(attribute):
                element.set(attribute, moved(element.get(attribute), moves))
        if element.tag in ("kernel", "initrd") and element.text:
            element.text = moved(element.text, moves)
    return etree.tostring(domain, encoding="unicode")


def moved(path, moves):
    for old, new in moves.items():
        if path == old or path.startswith(f"{old.rstrip('/')}/"):
            return new.rstrip("/") + path[len(old.rstrip("/")) :]
    return path


# A migration's domain leaves the source just before libvirt's call returns: a setter
# failing because of that is ignored once the call has returned within this.
RETURNS_WITHIN_S = 2


class LiveMigration:
    """One live migration of a domain, run in a thread of its own (libvirt's call blocks
    until it ends) while the caller reads its statistics and may abort it or change its
    limits."""

    def __init__(self, source, domain, target, params, tls=False, copy_disks=True):
        self.source, self.domain, self.target, self.params = source, domain, target, params
        self.flags = LIVE_FLAGS | (libvirt.VIR_MIGRATE_TLS if tls else 0)
        if not copy_disks:  # shared storage: the memory only
            self.flags &= ~libvirt.VIR_MIGRATE_NON_SHARED_INC
            if source.endpoint.is_this_host and target.endpoint.is_this_host:
                # One machine's files, one page cache: libvirt's check for a cluster file
                # system (which refuses a local one) is not needed.
                self.flags |= libvirt.VIR_MIGRATE_UNSAFE
        self.error = None
        self.thread = threading.Thread(target=self.run, name="migration", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def run(self):
        try:
            self.domain.migrate3(self.target.connection, self.params, self.flags)
        except libvirt.libvirtError as error:
            self.error = error

    def wait(self, seconds):
        """True once the migration ended (then `outcome` raises how it failed, if it did)."""
        self.thread.join(seconds)
        return not self.thread.is_alive()

    def outcome(self):
        if self.error is not None:
            raise NodeError(f"The migration failed: {self.error.get_error_message()}")

    def statistics(self):
        """The job's figures (STATISTICS' names), with its progress in %; {} between jobs."""
        return figures_of(self.domain, 0)

    def completed_statistics(self, domain_uuid):
        """The figures of the migration that ended, as the destination kept them."""
        try:
            arrived = self.target.connection.lookupByUUIDString(str(domain_uuid))
        except libvirt.libvirtError:
            return {}
        return figures_of(arrived, libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)

    def abort(self):
        with contextlib.suppress(libvirt.libvirtError):  # it may have just ended
            self.domain.abortJob()

    def set_max_speed(self, mib_s):
        self.while_running("Setting the migration's speed", self.domain.migrateSetMaxSpeed, mib_s)

    def set_max_downtime(self, ms):
        self.while_running(
            "Setting the migration's downtime", self.domain.migrateSetMaxDowntime, ms
        )

    def while_running(self, what, setter, value):
        """setter(value, 0), unless the migration ends meanwhile (the domain has gone)."""
        try:
            self.source.call(what, setter, value, 0)
        except NodeError:
            if not self.wait(RETURNS_WITHIN_S):
                raise


def figures_of(domain, flags):
    """A domain's job statistics under STATISTICS' names, with the progress in %."""
    try:
        stats = domain.jobStats(flags)
    except libvirt.libvirtError:
        return {}
    figures = {ours: stats[theirs] for ours, theirs in STATISTICS.items() if theirs in stats}
    total = figures.get("data_total_bytes")
    if total:
        done = figures.get("data_processed_bytes", 0) / total
        figures["progress_percent"] = round(min(100.0, 100 * done), 1)
    return figures


def migration_params(uri, destination_xml, persistent_xml, max_speed_mib_s=None):
    params = {
        libvirt.VIR_MIGRATE_PARAM_URI: uri,
        libvirt.VIR_MIGRATE_PARAM_DEST_XML: destination_xml,
        libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: persistent_xml,
    }
    if max_speed_mib_s:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = max_speed_mib_s
    return params


def copy_sparse(source, volume, target, pool, name, beat=lambda sent: None):
    """Copy volume (of source's node) byte for byte into a new volume `name` of target's
    pool, through both daemons' streams: holes are skipped, not sent. beat(bytes so far)
    is called for every chunk (it may raise to stop). Returns the new volume."""
    physical = source.call("Reading a volume", volume.info)[2]
    xml = f"<volume><name>{name}</name><capacity unit='bytes'>{physical}</capacity>"
    xml += "<target><format type='raw'/></target></volume>"
    copy = target.call(f"Creating {name} on the destination", pool.createXML, xml, 0)
    down = source.call("Opening a stream", source.connection.newStream, 0)
    up = target.call("Opening a stream", target.connection.newStream, 0)
    sent = [0]

    def data(_stream, chunk, _opaque):
        sent[0] += len(chunk)
        beat(sent[0])
        return up.send(chunk)

    def hole(_stream, length, _opaque):
        sent[0] += length
        up.sendHole(length, 0)
        return 0

    try:
        flags = libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
        source.call(f"Reading {name}", volume.download, down, 0, 0, flags)
        flags = libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM
        target.call(f"Writing {name}", copy.upload, up, 0, 0, flags)
        source.call(f"Copying {name}", down.sparseRecvAll, data, hole, None)
        target.call(f"Copying {name}", up.finish)
        source.call(f"Copying {name}", down.finish)
    except Exception:
        for stream in (up, down):
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
        with contextlib.suppress(libvirt.libvirtError):
            copy.delete(0)
        raise
    return copy
