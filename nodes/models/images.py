"""Images (machine, kernel, ramdisk, ISO) and instance types."""

import operator
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from nodes.choices import (
    IMAGE_ID_PREFIX,
    Architecture,
    DomainType,
    ImageFormat,
    ImageKind,
    ImageStatus,
    Platform,
    VmMode,
)
from nodes.ids import ec2_id_validator, new_ec2_id
from nodes.querysets import ImageQuerySet, VisibleQuerySet
from nodes.validators import validate_name, validate_xml_text


class Image(models.Model):
    """A registered disk, kernel or ramdisk image, with the properties placement matches on."""

    MEMBER_VISIBILITY = "own_or_public"
    # The properties placement and instance.xml read of an image: one made from an instance
    # keeps those of the instance's image (not its id, so rules scoped to that image, nor the
    # instance's kernel and ramdisk).
    PROPERTIES = (
        "hypervisor",
        "arch",
        "vm_mode",
        "platform",
        "virtio_root",
        "virtio_disk",
        "virtio_net",
        "cloud_init",
    )

    ec2_id = models.CharField(
        "id",
        max_length=12,
        unique=True,
        editable=False,
        validators=[ec2_id_validator("emi", "eki", "eri")],
    )
    kind = models.CharField(max_length=8, choices=ImageKind, default=ImageKind.MACHINE)
    name = models.CharField(max_length=128, validators=[validate_xml_text])
    description = models.CharField(max_length=255, blank=True, validators=[validate_xml_text])
    format = models.CharField(max_length=8, choices=ImageFormat, default=ImageFormat.QCOW2)
    location = models.CharField(
        max_length=1024, help_text="Path of the image file on the console host."
    )
    size_bytes = models.PositiveBigIntegerField(default=0)
    virtual_size_bytes = models.PositiveBigIntegerField(
        default=0,
        help_text="The size of the disk its guest sees, when Kumo knows it (0: the file's).",
    )
    is_public = models.BooleanField("public", default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="images"
    )
    hypervisor = models.CharField(
        max_length=8,
        choices=DomainType,
        blank=True,
        help_text="Only nodes of this domain type may run it; blank for any.",
    )
    arch = models.CharField(max_length=16, choices=Architecture, default=Architecture.X86_64)
    vm_mode = models.CharField(max_length=8, choices=VmMode, default=VmMode.HVM)
    platform = models.CharField(max_length=8, choices=Platform, default=Platform.LINUX)
    virtio_root = models.BooleanField(default=True)
    virtio_disk = models.BooleanField(default=True)
    virtio_net = models.BooleanField(default=True)
    cloud_init = models.BooleanField(
        "cloud-init capable",
        default=False,
        help_text="Attach a NoCloud config drive with the SSH key and user data.",
    )
    status = models.CharField(
        max_length=12,
        choices=ImageStatus,
        default=ImageStatus.AVAILABLE,
        help_text="Pending while Kumo makes it from an instance's disk.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=reduce(
                    operator.or_,
                    (
                        Q(kind=kind, ec2_id__startswith=f"{prefix}-")
                        for kind, prefix in IMAGE_ID_PREFIX.items()
                    ),
                ),
                name="image_id_prefix_matches_kind",
            ),
            models.UniqueConstraint(fields=["owner", "name"], name="image_name_unique_per_owner"),
            models.CheckConstraint(
                condition=Q(format__in=ImageFormat.values)
                & Q(arch__in=Architecture.values)
                & Q(vm_mode__in=VmMode.values)
                & Q(platform__in=Platform.values)
                & Q(hypervisor__in=["", *DomainType.values])
                & Q(status__in=ImageStatus.values),
                name="image_properties_valid",
            ),
        ]

    def __str__(self):
        return f"{self.ec2_id} ({self.name})"

    def save(self, *args, **kwargs):
        if not self.ec2_id:
            self.ec2_id = new_ec2_id(IMAGE_ID_PREFIX[self.kind], Image)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("kumo:image_detail", args=[self.ec2_id])

    @property
    def partial_location(self):
        """Where a pending image's file is written until it is whole."""
        return f"{self.location}.part"


class InstanceType(models.Model):
    """A size of instance: vCPUs, memory, root disk and ephemeral disk (m1.small …)."""

    MEMBER_VISIBILITY = "all"

    name = models.CharField(max_length=63, unique=True, validators=[validate_name])
    vcpus = models.PositiveSmallIntegerField("vCPUs")
    memory_mb = models.PositiveIntegerField("memory (MiB)")
    disk_gb = models.PositiveIntegerField("disk (GiB)")
    ephemeral_gb = models.PositiveIntegerField(
        "ephemeral disk (GiB)", default=0, help_text="A second, empty disk; 0 for none."
    )
    cpu_weight = models.PositiveIntegerField(
        "CPU weight",
        default=256,
        help_text="Share of contended CPU time, 1 to 65536 (256 is normal, 512 twice as much). "
        "The instance's own once tuned.",
    )
    cpu_cap = models.PositiveIntegerField(
        "CPU cap (%)",
        default=0,
        help_text="Most CPU the instance may use, in % of one CPU (50 = half a CPU, 200 = two); "
        "0 for no cap. The instance's own once tuned.",
    )

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["vcpus", "memory_mb", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vcpus__gte=1) & Q(memory_mb__gte=16) & Q(disk_gb__gte=1),
                name="instance_type_sizes_positive",
                violation_error_message=(
                    "An instance type needs at least 1 vCPU, 16 MiB of memory and 1 GiB of disk."
                ),
            ),
            models.CheckConstraint(
                condition=Q(cpu_weight__gte=1, cpu_weight__lte=65536)
                & Q(cpu_cap__lte=models.F("vcpus") * 100),
                name="instance_type_cpu_weight_and_cap_in_range",
                violation_error_message=(
                    "The CPU weight goes from 1 to 65536, and the cap from 0 to 100 %% per vCPU."
                ),
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("kumo:instancetype_detail", args=[self.name])
