"""The addresses of an instance's NICs, as libvirt last reported them."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from nodes.choices import AddressFamily, AddressSource, NicType, PowerState
from nodes.domainxml.chain import interface_types
from nodes.querysets import VisibleQuerySet

NOT_RUNNING = "Addresses are read from the node while the instance runs: start it to see them."
NO_NIC = "This instance has no NIC, so it has no address."
USER_MODE_NIC = (
    "Its NIC is user-mode (SLIRP): libvirt cannot see the addresses of a user-mode NIC. "
    "For an address Kumo can show, attach the node's instances to an isolated or bridged "
    "libvirt network with DHCP (the node's NIC type and source), or run the QEMU guest agent "
    "in the guest (the default stylesheet gives it its channel)."
)
NOT_SEEN_YET = (
    "None seen yet: libvirt reports an address once the guest has one (its DHCP lease on a "
    "libvirt network, the node's ARP table for a bridge, or the QEMU guest agent). Kumo asks "
    "after each start and every {interval} s."
)


def why_no_addresses(instance):
    """The sentence an instance page shows when the instance has no address."""
    if instance.power_state != PowerState.RUNNING:
        return NOT_RUNNING
    if instance.domain_xml:
        types = interface_types(instance.domain_xml)
    else:
        types = [instance.node.nic_type] if instance.node else []
    if not types:
        return NO_NIC
    if all(kind == NicType.USER for kind in types):
        return USER_MODE_NIC
    return NOT_SEEN_YET.format(interval=settings.KUMO_WATCH_INTERVAL)


class InstanceAddress(models.Model):
    """One IPv4 or IPv6 address of one NIC of a running instance. The watcher replaces an
    instance's rows with what libvirt reports (nodes/addresses.py) and removes them when it
    no longer runs."""

    MEMBER_VISIBILITY = "own_instance"

    instance = models.ForeignKey(
        "nodes.Instance", on_delete=models.CASCADE, related_name="addresses"
    )
    mac = models.CharField("MAC", max_length=17, help_text="Lower case, as libvirt writes it.")
    network = models.CharField(
        max_length=64, blank=True, help_text="The libvirt network or bridge the NIC is on."
    )
    ip = models.GenericIPAddressField("IP address")
    prefix = models.PositiveSmallIntegerField()
    family = models.CharField(max_length=4, choices=AddressFamily)
    source = models.CharField(max_length=5, choices=AddressSource)
    seen_at = models.DateTimeField(help_text="When libvirt last reported it.")

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["mac", "family", "ip"]
        constraints = [
            models.CheckConstraint(
                condition=Q(family__in=AddressFamily.values), name="instance_address_family_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=AddressSource.values), name="instance_address_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(family=AddressFamily.IPV4, prefix__lte=32)
                | Q(family=AddressFamily.IPV6, prefix__lte=128),
                name="instance_address_prefix_fits_family",
            ),
            models.UniqueConstraint(
                fields=["instance", "mac", "ip"], name="instance_address_unique_per_nic"
            ),
        ]
        indexes = [
            models.Index(fields=["ip"], name="instance_address_ip_idx"),
            models.Index(fields=["mac"], name="instance_address_mac_idx"),
        ]

    def __str__(self):
        return f"{self.ip}/{self.prefix} on {self.mac}"
