"""The addresses of an instance's NICs, as libvirt last reported them."""

from django.db import models
from django.db.models import Q

from nodes.choices import AddressFamily, AddressSource
from nodes.querysets import VisibleQuerySet


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
        indexes = [models.Index(fields=["ip"], name="instance_address_ip_idx")]

    def __str__(self):
        return f"{self.ip}/{self.prefix} on {self.mac}"
