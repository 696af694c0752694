"""How much a member may run at once."""

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum

from nodes.choices import SnapshotStatus, VmState, VolumeStatus

DEFAULTS = {"instances": 10, "vcpus": 20, "ram_mb": 20480, "volumes": 10, "volume_gib": 100}


class Quota(models.Model):
    """Limits for one user, or the defaults (the row without a user) for everyone else.
    Admins are not limited."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quota",
    )
    instances = models.PositiveIntegerField(default=DEFAULTS["instances"])
    vcpus = models.PositiveIntegerField("vCPUs", default=DEFAULTS["vcpus"])
    ram_mb = models.PositiveIntegerField("RAM (MiB)", default=DEFAULTS["ram_mb"])
    volumes = models.PositiveIntegerField(default=DEFAULTS["volumes"])
    volume_gib = models.PositiveIntegerField("volume size (GiB)", default=DEFAULTS["volume_gib"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=True), name="quota_one_default"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="quota_one_per_user"
            ),
        ]

    def __str__(self):
        return f"quota of {self.user or 'everyone'}"

    @classmethod
    def defaults(cls):
        """The defaults' row; until an admin first changes them, an unsaved one (so that
        reading them writes nothing) with the fields' defaults."""
        return cls.objects.filter(user=None).first() or cls(user=None)

    @classmethod
    def of(cls, user):
        """The limits that apply to user: an override, else the defaults."""
        return cls.objects.filter(user=user).first() or cls.defaults()

    def limits(self):
        return {field: getattr(self, field) for field in DEFAULTS}


def usage(user):
    """What user's live instances (being built included) take, and their volumes and volume
    snapshots (which count in volume_gib)."""
    live = user.instances.exclude(vm_state=VmState.DELETED).aggregate(
        instances=Count("pk"),
        vcpus=Sum("instance_type__vcpus"),
        ram_mb=Sum("instance_type__memory_mb"),
    )
    kept = user.volumes.exclude(status=VolumeStatus.DELETED).aggregate(
        volumes=Count("pk"), volume_gib=Sum("size_gib")
    )
    snapshots = user.volume_snapshots.exclude(status=SnapshotStatus.DELETED)
    kept["volume_gib"] = (kept["volume_gib"] or 0) + (
        snapshots.aggregate(gib=Sum("size_gib"))["gib"] or 0
    )
    return {key: value or 0 for key, value in (live | kept).items()}
