"""The storage pools of each node, as its last successful probe listed them, and volumes."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from nodes.choices import SnapshotStatus, VolumeStatus
from nodes.ids import ec2_id_validator, new_ec2_id
from nodes.querysets import VisibleQuerySet
from nodes.validators import validate_xml_text

GIB = 1 << 30
MAX_SIZE_GIB = 16384  # EC2's largest volume (16 TiB)
# The states of a volume with an instance: attached, or on its way in or out.
ATTACHED = (VolumeStatus.ATTACHING, VolumeStatus.IN_USE, VolumeStatus.DETACHING)
# Those in which the instance's domain, rendered, holds it.
RENDERED = (VolumeStatus.ATTACHING, VolumeStatus.IN_USE)
# A volume made by a launch is its instance's from the start.
WITH_INSTANCE = (VolumeStatus.CREATING, *ATTACHED)
IMAGES_POOL = "kumo-images"  # the pool of Node.images_path, which images are uploaded into


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


class Volume(models.Model):
    """A disk of its own on one node's pool kumo-volumes: it outlives the instances it is
    attached to, and the guest finds it by its id (its disk serial, seed 001)."""

    MEMBER_VISIBILITY = "own"
    POOL = "kumo-volumes"
    ID_PREFIX = "vol"

    ec2_id = models.CharField(
        "id", max_length=12, unique=True, editable=False, validators=[ec2_id_validator(ID_PREFIX)]
    )
    name = models.CharField(max_length=255, blank=True, validators=[validate_xml_text])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="volumes"
    )
    node = models.ForeignKey(
        "nodes.Node",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volumes",
        help_text="Empty until the launch that makes it has placed its instance.",
    )
    source_image = models.ForeignKey(
        "nodes.Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The machine image it was made from (a copy: the image may go).",
    )
    source_snapshot = models.ForeignKey(
        "storage.VolumeSnapshot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The snapshot it was made from (a copy: the snapshot may go).",
    )
    size_gib = models.PositiveIntegerField(
        "size (GiB)", validators=[MinValueValidator(1), MaxValueValidator(MAX_SIZE_GIB)]
    )
    status = models.CharField(max_length=12, choices=VolumeStatus, default=VolumeStatus.CREATING)
    instance = models.ForeignKey(
        "nodes.Instance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volumes",
        help_text="The instance it is attached to (or on its way to or from).",
    )
    device = models.CharField(
        max_length=8, blank=True, help_text="Its virtio device name in that instance (vdc …)."
    )
    delete_on_termination = models.BooleanField(
        default=False,
        help_text="Deleted when that instance is terminated (asked for with the terminate); "
        "otherwise detached and kept.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=VolumeStatus.values), name="volume_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(instance__isnull=True) | Q(status__in=WITH_INSTANCE),
                name="volume_instance_only_when_attached",
            ),
            models.UniqueConstraint(
                fields=["instance", "device"],
                condition=Q(instance__isnull=False),
                name="volume_one_per_device",
            ),
        ]
        indexes = [
            models.Index(fields=["status"], name="volume_status_idx"),
            models.Index(fields=["created_at", "id"], name="volume_created_idx"),
        ]

    def __str__(self):
        return self.ec2_id

    def save(self, *args, **kwargs):
        if not self.ec2_id:
            self.ec2_id = new_ec2_id(self.ID_PREFIX, Volume)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("storage:volume_detail", args=[self.ec2_id])

    @property
    def file_name(self):
        return f"{self.ec2_id}.qcow2"

    @property
    def path(self):
        """Its file on its node."""
        return f"{self.node.volumes_path}/{self.file_name}"

    @property
    def node_name(self):
        return self.node.name if self.node_id else "(not placed yet)"

    @property
    def guest_path(self):
        """Where a Linux guest finds it on a virtio disk, whatever device name its kernel gave
        it (seed 001); QEMU passes on at most 20 characters of a serial, vol- ids are 12."""
        image = self.instance.image if self.instance_id else None
        if image is None or not (image.virtio_root and image.virtio_disk):
            return ""
        return f"/dev/disk/by-id/virtio-{self.ec2_id}"

    @property
    def size_bytes(self):
        return self.size_gib * GIB


class VolumeSnapshot(models.Model):
    """A copy of a volume at one moment (`snap-` + 8 hex, as EC2), in the same pool on the
    same node: a flattened qcow2 file of its own, so that it outlives the volume and new
    volumes and images are made from it."""

    MEMBER_VISIBILITY = "own"

    ec2_id = models.CharField(
        "id", max_length=13, unique=True, editable=False, validators=[ec2_id_validator("snap")]
    )
    volume = models.ForeignKey(
        Volume, on_delete=models.SET_NULL, null=True, blank=True, related_name="snapshots"
    )
    volume_ec2_id = models.CharField("volume id", max_length=12, help_text="Kept, for the record.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="volume_snapshots"
    )
    node = models.ForeignKey("nodes.Node", on_delete=models.PROTECT, related_name="+")
    size_gib = models.PositiveIntegerField("size (GiB)")
    status = models.CharField(max_length=12, choices=SnapshotStatus, default=SnapshotStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SnapshotStatus.values), name="volume_snapshot_status_valid"
            ),
        ]

    def __str__(self):
        return self.ec2_id

    def save(self, *args, **kwargs):
        if not self.ec2_id:
            self.ec2_id = new_ec2_id("snap", VolumeSnapshot)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("storage:snapshot_detail", args=[self.ec2_id])

    @property
    def file_name(self):
        return f"{self.ec2_id}.qcow2"


def free_volumes(instance):
    """Take instance's volumes off it in the database, its domain gone or never started
    (terminate, a failed launch): those its launch never made are left in error, to delete,
    the others available."""
    volumes = Volume.objects.filter(instance=instance)
    volumes.filter(status=VolumeStatus.CREATING).update(
        status=VolumeStatus.ERROR, instance=None, device=""
    )
    volumes.update(status=VolumeStatus.AVAILABLE, instance=None, device="")


def release_launch_volumes(instance):
    """After instance's launch failed: its volumes are freed (free_volumes) if no domain was
    defined; otherwise they stay its own, attached as its definition holds them, until it
    is terminated (the domain may run: no other guest may write to them)."""
    if not type(instance).objects.filter(pk=instance.pk).exclude(domain_xml="").exists():
        free_volumes(instance)
        return
    volumes = Volume.objects.filter(instance=instance)
    volumes.filter(status=VolumeStatus.CREATING).update(
        status=VolumeStatus.ERROR, instance=None, device=""
    )
    volumes.filter(status=VolumeStatus.ATTACHING).update(status=VolumeStatus.IN_USE)
