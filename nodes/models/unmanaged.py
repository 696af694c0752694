"""Domains found on a node that Kumo did not create."""

from django.db import models

from nodes.querysets import VisibleQuerySet


class UnmanagedDomain(models.Model):
    """A domain on a node with no Kumo instance: listed for admins to adopt or ignore.

    The watcher's reconciliation keeps the list current."""

    MEMBER_VISIBILITY = "none"

    node = models.ForeignKey("nodes.Node", on_delete=models.CASCADE, related_name="unmanaged")
    uuid = models.UUIDField()
    name = models.CharField(max_length=255)
    power_state = models.CharField(max_length=12)
    ignored = models.BooleanField(default=False)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["node__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["node", "uuid"], name="unmanaged_domain_unique_per_node"
            ),
        ]

    def __str__(self):
        return f"{self.name} on {self.node}"
