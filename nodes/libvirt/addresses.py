"""The addresses of a running domain's NICs, from libvirt's interfaceAddresses.

libvirt has three sources, each seeing some NICs only:

- LEASE: the DHCP leases of libvirt networks (the NICs of type network);
- ARP: the host's ARP table (bridges, where no libvirt DHCP runs);
- AGENT: the QEMU guest agent, from inside the guest (every NIC, a user-mode one too), when
  the domain has its `org.qemu.guest_agent.0` channel and the agent answers.

Each address comes out as a plain dict: mac, network, ip, prefix, family, source.
"""

import logging

import libvirt
from lxml import etree

log = logging.getLogger("nodes.watcher")

AGENT_CHANNEL = "org.qemu.guest_agent.0"
FAMILIES = {libvirt.VIR_IP_ADDR_TYPE_IPV4: "ipv4", libvirt.VIR_IP_ADDR_TYPE_IPV6: "ipv6"}
SOURCES = {
    "lease": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
    "arp": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
    "agent": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
}
# The agent is not running in the guest, not connected yet, or does not know the command.
AGENT_SILENT = {
    libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
    libvirt.VIR_ERR_AGENT_UNSYNCED,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
    libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
    libvirt.VIR_ERR_NO_SUPPORT,
}


def nics_of(domain_xml):
    """{mac: (interface type, network or bridge name)} of the domain's NICs."""
    nics = {}
    for interface in etree.fromstring(domain_xml).iterfind("devices/interface"):
        mac = interface.find("mac")
        if mac is None:
            continue
        source = interface.find("source")
        name = "" if source is None else source.get("network") or source.get("bridge") or ""
        nics[mac.get("address", "").lower()] = (interface.get("type"), name)
    return nics


def has_agent_channel(domain_xml):
    path = f"devices/channel/target[@name='{AGENT_CHANNEL}']"
    return etree.fromstring(domain_xml).find(path) is not None


def sees(source, kind):
    """Whether a source can know the addresses of a NIC of this interface type."""
    if source == "lease":
        return kind == "network"
    if source == "arp":
        return kind not in ("network", "user")  # bridges, direct …: no libvirt DHCP there
    return True  # the agent, from inside the guest


def sources_for(domain_xml, nics):
    """The sources worth asking, in order of trust: the host's own records first."""
    kinds = {kind for kind, _name in nics.values()}
    wanted = [source for source in ("lease", "arp") if any(sees(source, k) for k in kinds)]
    return wanted + ["agent"] if has_agent_channel(domain_xml) else wanted


def reported(domain, source):
    """libvirt's answer for one source: {interface name: {"hwaddr", "addrs"}}. A silent agent
    and an unreadable ARP table answer nothing (libvirt 9.0 here fails ARP with "wrong
    nlmsg len"): the other sources still count."""
    try:
        return domain.interfaceAddresses(SOURCES[source], 0) or {}
    except libvirt.libvirtError as error:
        if source == "agent" and error.get_error_code() in AGENT_SILENT:
            return {}
        if source == "arp" and error.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR:
            log.info("the ARP table of %s's host is unreadable: %s", domain.name(), error)
            return {}
        raise


def domain_addresses(domain):
    """Every address libvirt can see on the NICs of a running domain, each once (from the
    first source that reports it)."""
    domain_xml = domain.XMLDesc(0)
    nics = nics_of(domain_xml)
    found = {}
    for source in sources_for(domain_xml, nics):
        for interface in reported(domain, source).values():
            for row in rows_of(interface, nics, source):
                found.setdefault((row["mac"], row["ip"]), row)
    return list(found.values())


def rows_of(interface, nics, source):
    mac = (interface.get("hwaddr") or "").lower()
    if mac not in nics or not sees(source, nics[mac][0]):
        return  # the guest's loopback seen by the agent, a network NIC in the ARP table …
    for address in interface.get("addrs") or []:
        if address.get("type") in FAMILIES:
            yield {
                "mac": mac,
                "network": nics[mac][1],
                "ip": address["addr"],
                "prefix": address["prefix"],
                "family": FAMILIES[address["type"]],
                "source": source,
            }
