"""The storage pools of each node, as its last successful probe listed them."""

from django.db import models


class StoragePool(models.Model):
    """One libvirt storage pool of a node: its type, where it keeps its volumes and how much
    room it has. Replaced at every probe; a down node keeps the last list (seen_at says when)."""

    node = models.ForeignKey("nodes.Node", on_delete=models.CASCADE, related_name="storage_pools")
    # Text: libvirt bounds neither a pool's name nor its path.
    name = models.TextField()
    type = models.CharField(max_length=16, help_text="dir, logical, netfs, rbd, …")
    active = models.BooleanField(help_text="Running on the node (an inactive pool has no room).")
    path = models.TextField(blank=True, help_text="Its target path on the node.")
    capacity_bytes = models.PositiveBigIntegerField()
    allocation_bytes = models.PositiveBigIntegerField()
    available_bytes = models.PositiveBigIntegerField()
    volumes = models.JSONField(default=list, help_text="The names of its volumes.")
    seen_at = models.DateTimeField(help_text="The probe that listed it.")

    class Meta:
        ordering = ["node", "name"]
        constraints = [
            models.UniqueConstraint(fields=["node", "name"], name="storage_pool_one_per_name")
        ]

    def __str__(self):
        return f"{self.name} on {self.node_id}"
