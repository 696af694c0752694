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
