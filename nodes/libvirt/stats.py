"""Reading a node's counters: one bulk-stats call for all its running domains, per-domain
calls where the driver answers the bulk call with state alone (the test driver), and the
host's own CPU and memory figures.

Counters come out as plain dicts (JSON-ready), the shape the metrics app stores:

    domain: {"cpu_time_ns", "vcpus", "memory_max_kib", "memory_current_kib",
             "balloon": {"available_kib", "unused_kib", "rss_kib", ...} (the keys libvirt gave),
             "disks": {target: {"path", "rd_bytes", "wr_bytes", "rd_reqs", "wr_reqs",
                                "errors", "capacity", "allocation"}},
             "nics": {target: {"rx_bytes", "tx_bytes", "rx_pkts", "tx_pkts",
                               "rx_errs", "tx_errs", "rx_drop", "tx_drop"}}}
    node:   {"cpus", "memory_total_kib", "memory_free_kib", "cpu_busy_ns", "cpu_total_ns"}
"""

import contextlib

import libvirt
from lxml import etree

BLOCK_FIELDS = {
    "rd.bytes": "rd_bytes",
    "wr.bytes": "wr_bytes",
    "rd.reqs": "rd_reqs",
    "wr.reqs": "wr_reqs",
    "errors": "errors",
    "capacity": "capacity",
    "allocation": "allocation",
    "path": "path",
}
NET_FIELDS = {
    f"{way}.{what}": f"{way}_{short}"
    for way in ("rx", "tx")
    for what, short in (("bytes", "bytes"), ("pkts", "pkts"), ("errs", "errs"), ("drop", "drop"))
}
BALLOON_FIELDS = {
    "available": "available_kib",
    "unused": "unused_kib",
    "usable": "usable_kib",
    "rss": "rss_kib",
    "current": "current_kib",
    "maximum": "maximum_kib",
    "swap_in": "swap_in_kib",
    "swap_out": "swap_out_kib",
    "major_fault": "major_faults",
    "minor_fault": "minor_faults",
    "last-update": "last_update",
}


def from_bulk(stats):
    """A domain's counters from one getAllDomainStats record, or None when it holds state
    alone."""
    if "cpu.time" not in stats:
        return None
    balloon = {
        name: stats[f"balloon.{key}"]
        for key, name in BALLOON_FIELDS.items()
        if f"balloon.{key}" in stats
    }
    return {
        "cpu_time_ns": stats["cpu.time"],
        "vcpus": stats.get("vcpu.current", 1),
        "vcpu_time_ns": [stats.get(f"vcpu.{n}.time") for n in range(stats.get("vcpu.current", 0))],
        "memory_max_kib": stats.get("balloon.maximum"),
        "memory_current_kib": stats.get("balloon.current"),
        "balloon": balloon,
        "disks": _devices(stats, "block", BLOCK_FIELDS),
        "nics": _devices(stats, "net", NET_FIELDS),
    }


def _devices(stats, group, fields):
    devices = {}
    for n in range(stats.get(f"{group}.count", 0)):
        name = stats.get(f"{group}.{n}.name")
        if name is None:
            continue
        prefix = f"{group}.{n}."
        devices[name] = {
            short: stats[prefix + key] for key, short in fields.items() if prefix + key in stats
        }
    return devices


def from_calls(domain):
    """A domain's counters from per-domain calls, for drivers without bulk groups."""
    _state, max_kib, current_kib, vcpus, cpu_time = domain.info()
    tree = etree.fromstring(domain.XMLDesc(0))
    return {
        "cpu_time_ns": cpu_time,
        "vcpus": vcpus,
        "vcpu_time_ns": [],
        "memory_max_kib": max_kib,
        "memory_current_kib": current_kib,
        "balloon": _memory_stats(domain),
        "disks": _disks_by_call(domain, tree),
        "nics": _nics_by_call(domain, tree),
    }


def _memory_stats(domain):
    with contextlib.suppress(libvirt.libvirtError):
        reported = domain.memoryStats()
        return {name: reported[key] for key, name in BALLOON_FIELDS.items() if key in reported}
    return {}


def _disks_by_call(domain, tree):
    disks = {}
    for disk in tree.iterfind("devices/disk"):
        target, source = disk.find("target"), disk.find("source")
        if target is None:
            continue
        name = target.get("dev")
        with contextlib.suppress(libvirt.libvirtError):
            rd_reqs, rd_bytes, wr_reqs, wr_bytes, errors = domain.blockStats(name)
            disks[name] = {
                "path": source.get("file") if source is not None else None,
                "rd_bytes": rd_bytes,
                "wr_bytes": wr_bytes,
                "rd_reqs": rd_reqs,
                "wr_reqs": wr_reqs,
                "errors": max(errors, 0),
            }
    return disks


def _nics_by_call(domain, tree):
    nics = {}
    for nic in tree.iterfind("devices/interface/target"):
        name = nic.get("dev")
        with contextlib.suppress(libvirt.libvirtError):
            values = domain.interfaceStats(name)
            # interfaceStats answers in NET_FIELDS' order: rx bytes, packets, errs, drop; tx.
            nics[name] = dict(zip(NET_FIELDS.values(), values, strict=True))
    return nics


def domain_counters(connection):
    """{domain UUID: counters} for every running domain of the node, in one bulk call."""
    flags = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE
    counters = {}
    for domain, stats in connection.getAllDomainStats(0, flags):
        with contextlib.suppress(libvirt.libvirtError):  # it stopped meanwhile
            counters[domain.UUIDString()] = from_bulk(stats) or from_calls(domain)
    return counters


def node_counters(connection):
    """The host's CPU count, memory and cumulative CPU times (None where the driver has
    no such call: the test driver lacks node memory statistics)."""
    _model, memory_mib, cpus, *_rest = connection.getInfo()
    times = _optional(connection.getCPUStats, libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 0)
    memory = _optional(connection.getMemoryStats, libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    busy = sum(times.get(key, 0) for key in ("kernel", "user")) if times else None
    return {
        "cpus": cpus,
        "memory_total_kib": memory.get("total", memory_mib * 1024) if memory else memory_mib * 1024,
        "memory_free_kib": (
            sum(memory.get(key, 0) for key in ("free", "buffers", "cached")) if memory else None
        ),
        "cpu_busy_ns": busy,
        "cpu_total_ns": busy + times.get("idle", 0) + times.get("iowait", 0) if times else None,
    }


def _optional(call, *args):
    try:
        return call(*args)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return None
        raise


# Diagnostics: one running domain read in full, on request (nodes/metrics/jobs.py), in the
# shape the metrics app stores and the API gives (docs/metrics.md#diagnostics). Counters are
# cumulative since the domain started; sizes in bytes, memory in KiB, times in nanoseconds.
# A figure the driver or the device cannot give (an empty CD-ROM, a NIC without a host-side
# device) is None; any other libvirt error is raised.
NOT_AVAILABLE = {
    libvirt.VIR_ERR_NO_SUPPORT,
    libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
    libvirt.VIR_ERR_OPERATION_INVALID,
    libvirt.VIR_ERR_INVALID_ARG,
}
VCPU_STATES = {
    libvirt.VIR_VCPU_OFFLINE: "offline",
    libvirt.VIR_VCPU_RUNNING: "running",
    libvirt.VIR_VCPU_BLOCKED: "blocked",
}
DISK_SOURCES = ("file", "dev", "volume", "name", "dir")  # <source> names its path by type
NIC_SOURCES = ("network", "bridge", "dev")
# interfaceStats answers rx bytes, packets, errors, drops, then the same for tx; named as
# Nova's diagnostics name them.
NIC_COUNTERS = tuple(
    f"{way}_{what}" for way in ("rx", "tx") for what in ("octets", "packets", "errors", "drop")
)


def diagnostics(domain):
    """A running domain's diagnostics, as `nova diagnostics` gives them (the state aside,
    which the caller reads): its hypervisor type, per-vCPU times, memory and balloon figures,
    and per disk and per NIC what it is and its counters."""
    tree = etree.fromstring(domain.XMLDesc(0))
    cpus = _vcpus(domain)
    disks = [_disk(domain, disk) for disk in tree.iterfind("devices/disk")]
    nics = [_nic(domain, nic) for nic in tree.iterfind("devices/interface")]
    return {
        "hypervisor": tree.get("type"),
        "num_cpus": len(cpus),
        "num_disks": len(disks),
        "num_nics": len(nics),
        "cpu_details": cpus,
        "memory_details": _memory(domain),
        "disk_details": disks,
        "nic_details": nics,
    }


def _or_none(call, *args):
    try:
        return call(*args)
    except libvirt.libvirtError as error:
        if error.get_error_code() in NOT_AVAILABLE:
            return None
        raise


def _attribute(element, *names):
    """The first of names that the element (maybe absent) has."""
    if element is None:
        return None
    return next((element.get(name) for name in names if element.get(name)), None)


def _vcpus(domain):
    """[{"id", "state", "time_ns", "cpu"}]; cpu is the host CPU it last ran on."""
    answer = _or_none(domain.vcpus)
    return [
        {"id": number, "state": VCPU_STATES.get(state, "unknown"), "time_ns": time_ns, "cpu": cpu}
        for number, state, time_ns, cpu in (answer[0] if answer else [])
    ]


def _memory(domain):
    """The domain's maximum and current (balloon) memory, the guest's own use when its
    balloon driver reports it (available − unused), and memoryStats as libvirt names it."""
    _state, maximum_kib, current_kib, _vcpus, _cpu_time = domain.info()
    balloon = _or_none(domain.memoryStats) or {}
    reported = "available" in balloon and "unused" in balloon
    return {
        "maximum_kib": maximum_kib,
        "current_kib": current_kib,
        "used_kib": balloon["available"] - balloon["unused"] if reported else None,
        "guest_reports": reported,
        "balloon": balloon,
    }


def _disk(domain, disk):
    target = _attribute(disk.find("target"), "dev")
    info = _or_none(domain.blockInfo, target) if target else None
    counters = _or_none(domain.blockStats, target) if target else None
    rd_reqs, rd_bytes, wr_reqs, wr_bytes, errors = counters or (None,) * 5
    capacity, allocation, physical = info or (None,) * 3
    return {
        "target": target,
        "device": disk.get("device", "disk"),
        "bus": _attribute(disk.find("target"), "bus"),
        "path": _attribute(disk.find("source"), *DISK_SOURCES),
        "capacity": capacity,
        "allocation": allocation,
        "physical": physical,
        "read_bytes": rd_bytes,
        "read_requests": rd_reqs,
        "write_bytes": wr_bytes,
        "write_requests": wr_reqs,
        "errors_count": errors if errors is None or errors >= 0 else None,  # -1: not counted
    }


def _nic(domain, nic):
    target = _attribute(nic.find("target"), "dev")
    counters = _or_none(domain.interfaceStats, target) if target else None
    return {
        "mac_address": _attribute(nic.find("mac"), "address"),
        "target": target,
        "type": nic.get("type"),
        "source": _attribute(nic.find("source"), *NIC_SOURCES),
        "model": _attribute(nic.find("model"), "type"),
        **dict(zip(NIC_COUNTERS, counters or (None,) * len(NIC_COUNTERS), strict=True)),
    }
