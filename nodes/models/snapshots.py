"""Snapshots Kumo took of an instance (libvirt domain snapshots)."""

from django.db import models

from nodes.querysets import VisibleQuerySet


class Snapshot(models.Model):
    """A libvirt snapshot of an instance's domain, by name. Reverting and deleting are
    actions on the instance."""

    MEMBER_VISIBILITY = "own_instance"

    instance = models.ForeignKey(
        "nodes.Instance", on_delete=models.CASCADE, related_name="snapshots"
    )
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "name"], name="snapshot_name_unique_per_instance"
            ),
        ]

    def __str__(self):
        return self.name
