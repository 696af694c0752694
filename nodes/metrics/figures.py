"""The series of one interval, computed from two readings' counters (nodes/libvirt/stats.py).

A counter that went down (the guest rebooted, or moved to another node) gives no rate for
that interval rather than a negative one; a reading too far apart from the previous one (the
node was unreachable meanwhile) gives none either, so that a missed sample is a gap.
"""

NS = 1e9


def delta(before, after):
    """after − before, or None when either is unknown or the counter was reset."""
    if before is None or after is None or after < before:
        return None
    return after - before


def device_deltas(before, after, keys):
    """{key: the sum over devices of that counter's change}, None for a key no device has
    or one was reset on. Devices that came or went meanwhile are left out."""
    if before.keys().isdisjoint(after):
        return dict.fromkeys(keys)
    sums = dict.fromkeys(keys, 0)
    for name, counters in after.items():
        previous = before.get(name)
        if previous is None:
            continue
        for key in keys:
            change = delta(previous.get(key), counters.get(key))
            sums[key] = None if change is None or sums[key] is None else sums[key] + change
    return sums


def per_second(change, seconds):
    return None if change is None else change / seconds


def memory_used(counters):
    """(bytes used, where the figure comes from): the guest's own view through its balloon
    driver when it reports one, else the QEMU process's resident size on the host."""
    balloon = counters.get("balloon", {})
    if "available_kib" in balloon and "unused_kib" in balloon:
        return (balloon["available_kib"] - balloon["unused_kib"]) * 1024, "balloon"
    if "rss_kib" in balloon:
        return balloon["rss_kib"] * 1024, "rss"
    return None, None


def instance_figures(previous, current, seconds):
    """{series: value or None} of one instance; previous is None for its first reading."""
    used, source = memory_used(current)
    current_kib = current.get("memory_current_kib")
    figures = {
        "memory_used_bytes": used,
        "memory_source": source,
        "memory_total_bytes": None if current_kib is None else current_kib * 1024,
        "vcpus": current.get("vcpus"),
    }
    if previous is None:
        return figures | dict.fromkeys(RATE_SERIES)
    cpu = delta(previous.get("cpu_time_ns"), current.get("cpu_time_ns"))
    vcpus = current.get("vcpus") or 1
    figures["cpu_percent"] = None if cpu is None else cpu / (seconds * NS * vcpus) * 100
    for group, rates in (("disks", DISK_RATES), ("nics", NIC_RATES)):
        changes = device_deltas(previous.get(group, {}), current.get(group, {}), rates.values())
        for series, key in rates.items():
            figures[series] = per_second(changes[key], seconds)
    return figures


DISK_RATES = {
    "disk_read_bytes_per_s": "rd_bytes",
    "disk_write_bytes_per_s": "wr_bytes",
    "disk_read_ops_per_s": "rd_reqs",
    "disk_write_ops_per_s": "wr_reqs",
}
NIC_RATES = {"net_rx_bytes_per_s": "rx_bytes", "net_tx_bytes_per_s": "tx_bytes"}
DEVICE_RATES = (*DISK_RATES, *NIC_RATES)
RATE_SERIES = ("cpu_percent", *DEVICE_RATES)


def total(values):
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def node_figures(previous, current, seconds, instances):
    """{series: value or None} of one node, from its own counters and its running
    instances' figures of the same interval."""
    free_kib, total_kib = current.get("memory_free_kib"), current.get("memory_total_kib")
    figures = {
        "memory_total_bytes": None if total_kib is None else total_kib * 1024,
        "memory_used_bytes": None if free_kib is None else (total_kib - free_kib) * 1024,
        "running_instances": len(instances),
        "cpu_percent": None,
    }
    if previous is not None:
        busy = delta(previous.get("cpu_busy_ns"), current.get("cpu_busy_ns"))
        elapsed = delta(previous.get("cpu_total_ns"), current.get("cpu_total_ns"))
        if busy is not None and elapsed:
            figures["cpu_percent"] = busy / elapsed * 100
    vcpu_percent = [
        f["cpu_percent"] * (f["vcpus"] or 1) for f in instances if f["cpu_percent"] is not None
    ]
    cpus = current.get("cpus") or 1
    figures["instances_cpu_percent"] = sum(vcpu_percent) / cpus if vcpu_percent else None
    for series in DEVICE_RATES:
        figures[series] = total(f[series] for f in instances)
    return figures
