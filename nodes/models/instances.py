"""Instances: what a user launched, where it runs and in which state."""

import re
from dataclasses import dataclass
from uuid import uuid4

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.crypto import get_random_string

from nodes.choices import ActionKind, ActionStatus, PowerState, TaskState, VmState
from nodes.ids import ec2_id_validator, new_ec2_id
from nodes.querysets import InstanceQuerySet
from nodes.validators import validate_xml_text

VNC_PASSWORD = re.compile(r"""passwd=(["'])[^"']*\1""")


@dataclass(frozen=True)
class Tuning:
    """What an instance runs with now: its own tuned values, else its instance type's."""

    cpu_weight: int
    cpu_cap: int
    memory_mb: int
    vcpus: int

    def __str__(self):
        cap = f"cap {self.cpu_cap} %" if self.cpu_cap else "no cap"
        return f"{self.vcpus} vCPUs, {self.memory_mb} MiB, CPU weight {self.cpu_weight}, {cap}"


def new_vnc_password():
    """VNC's own authentication uses at most eight characters."""
    return get_random_string(8)


class Instance(models.Model):
    """A virtual machine: its inventory links and its Nova-style states (DESIGN.md §4).

    The status a user sees is derived from vm_state, task_state and power_state; it is never
    stored.
    """

    MEMBER_VISIBILITY = "own"
    # The files in the instance's directory on its node.
    ROOT_DISK = "root.qcow2"
    EPHEMERAL_DISK = "ephemeral.qcow2"
    CONFIG_DRIVE = "config.iso"
    POOL_PREFIX = "kumo-"  # its directory's pool is kumo-<ec2 id>

    ec2_id = models.CharField(
        "id", max_length=10, unique=True, editable=False, validators=[ec2_id_validator("i")]
    )
    uuid = models.UUIDField(default=uuid4, editable=False)
    name = models.CharField(max_length=255, blank=True, validators=[validate_xml_text])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="instances"
    )
    cluster = models.ForeignKey("nodes.Cluster", on_delete=models.PROTECT, related_name="instances")
    node = models.ForeignKey(
        "nodes.Node", on_delete=models.PROTECT, null=True, blank=True, related_name="instances"
    )
    image = models.ForeignKey("nodes.Image", on_delete=models.PROTECT, related_name="instances")
    kernel = models.ForeignKey(
        "nodes.Image", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ramdisk = models.ForeignKey(
        "nodes.Image", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cdrom = models.ForeignKey(
        "nodes.Image",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="An ISO image in its CD-ROM drive, booted first (an installer's).",
    )
    instance_type = models.ForeignKey(
        "nodes.InstanceType", on_delete=models.PROTECT, related_name="instances"
    )
    keypair = models.ForeignKey(
        "nodes.Keypair", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    key_name = models.CharField(max_length=63, blank=True, help_text="The keypair's, at launch.")
    public_key = models.TextField(
        blank=True,
        help_text="The keypair's public key, kept: deleting the keypair changes nothing.",
    )
    user_data = models.TextField(blank=True, help_text="Base64, as EC2 stores it.")
    launch_index = models.PositiveSmallIntegerField(default=0)
    reservation_id = models.CharField(
        max_length=10, db_index=True, validators=[ec2_id_validator("r")]
    )

    vm_state = models.CharField(max_length=12, choices=VmState, default=VmState.BUILDING)
    # NULL, not "", means "no task": the compare-and-set of DESIGN.md §4 filters on it.
    task_state = models.CharField(  # noqa: DJ001
        max_length=16, choices=TaskState, null=True, blank=True
    )
    power_state = models.CharField(max_length=12, choices=PowerState, default=PowerState.NOSTATE)

    cpu_weight = models.PositiveIntegerField(
        "CPU weight", null=True, blank=True, help_text="Tuned; empty: its instance type's."
    )
    cpu_cap = models.PositiveIntegerField(
        "CPU cap (%)", null=True, blank=True, help_text="Tuned; empty: its instance type's."
    )
    current_memory_mb = models.PositiveIntegerField(
        "memory now (MiB)",
        null=True,
        blank=True,
        help_text="Tuned, up to its instance type's memory; empty: all of it.",
    )
    current_vcpus = models.PositiveSmallIntegerField(
        "vCPUs now",
        null=True,
        blank=True,
        help_text="Tuned, up to its instance type's vCPUs; empty: all of them.",
    )

    domain_xml = models.TextField(blank=True, help_text="The domain XML defined at launch.")
    rendered_with = models.JSONField(
        default=list,
        blank=True,
        help_text="The stylesheets (rule, revision) that produced domain_xml, in order.",
    )

    vnc_password = models.CharField(
        "VNC password",
        max_length=8,
        default=new_vnc_password,
        editable=False,
        help_text="Given to the browser only with a console token.",
    )
    vnc_port = models.PositiveIntegerField(
        "VNC port", null=True, blank=True, help_text="The graphics port last seen on the node."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)

    objects = InstanceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vm_state__in=VmState.values), name="instance_vm_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(task_state__isnull=True) | Q(task_state__in=TaskState.values),
                name="instance_task_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(power_state__in=PowerState.values), name="instance_power_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(vm_state=VmState.DELETED) | Q(terminated_at__isnull=True),
                name="instance_only_deleted_is_terminated",
            ),
            models.CheckConstraint(
                condition=Q(cpu_weight__isnull=True) | Q(cpu_weight__gte=1, cpu_weight__lte=65536),
                name="instance_cpu_weight_in_range",
                violation_error_message="The CPU weight goes from 1 to 65536.",
            ),
            # A domain UUID names one live instance; a refused adoption may leave a deleted
            # one behind with the UUID of a domain adopted later.
            models.UniqueConstraint(
                fields=["uuid"],
                condition=~Q(vm_state=VmState.DELETED),
                name="instance_uuid_unique_while_live",
            ),
        ]
        # The list's order, alone and after each filter it offers (nodes/listing.py).
        indexes = [
            models.Index(fields=[*prefix, "created_at", "id"], name=f"instance_{name}_idx")
            for name, prefix in [
                ("created", []),
                ("vm_state", ["vm_state"]),
                ("node", ["node"]),
                ("owner", ["owner"]),
                ("image", ["image"]),
                ("type", ["instance_type"]),
            ]
        ] + [models.Index(Lower("name"), name="instance_name_idx")]  # its search

    def __str__(self):
        return self.ec2_id

    def save(self, *args, **kwargs):
        if not self.ec2_id:
            self.ec2_id = new_ec2_id("i", Instance)
        if not self.reservation_id:
            self.reservation_id = new_ec2_id("r", Instance, field="reservation_id")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("kumo:instance_detail", args=[self.ec2_id])

    def record_domain(self, domain_xml, stylesheets):
        """Keep the domain XML defined for this instance and what made it."""
        self.domain_xml, self.rendered_with = domain_xml, stylesheets
        self.save(update_fields=["domain_xml", "rendered_with"])

    @property
    def tuning(self):
        """Its Tuning: what a render and a live tune give the domain."""
        kind = self.instance_type

        def own_or(value, default):
            return default if value is None else value

        return Tuning(
            cpu_weight=own_or(self.cpu_weight, kind.cpu_weight),
            cpu_cap=own_or(self.cpu_cap, kind.cpu_cap),
            memory_mb=own_or(self.current_memory_mb, kind.memory_mb),
            vcpus=own_or(self.current_vcpus, kind.vcpus),
        )

    @property
    def running_migration(self):
        """Its unfinished migrate action, or None (no query unless it is migrating)."""
        if self.task_state != TaskState.MIGRATING:
            return None
        unfinished = self.actions.filter(
            kind=ActionKind.MIGRATE, status__in=[ActionStatus.QUEUED, ActionStatus.RUNNING]
        )
        return unfinished.first()

    @property
    def images(self):
        """The images its launch copies to its node: machine image, kernel, ramdisk, ISO."""
        return [i for i in (self.image, self.kernel, self.ramdisk, self.cdrom) if i is not None]

    @property
    def directory(self):
        """The directory on its node holding its disks, config drive and console log."""
        return f"{self.node.instances_path}/{self.ec2_id}"

    def file_path(self, name):
        return f"{self.directory}/{name}"

    @property
    def pool_name(self):
        """The libvirt storage pool of its directory."""
        return f"{self.POOL_PREFIX}{self.ec2_id}"

    @classmethod
    def owns_pool(cls, pool_name):
        """Whether pool_name is the pool of an instance's directory."""
        return pool_name.startswith(f"{cls.POOL_PREFIX}i-")

    @property
    def domain_xml_shown(self):
        """The domain XML for pages: the VNC password reaches people only through a console's
        token exchange."""
        return VNC_PASSWORD.sub(r"passwd=\1(hidden)\1", self.domain_xml)

    @property
    def ip_addresses(self):
        """Its addresses on one line, for lists (prefetch "addresses" for many instances)."""
        return ", ".join(address.ip for address in self.addresses.all())

    @property
    def status(self) -> str:
        """What a person sees: the task in progress, else the vm_state."""
        if self.task_state:
            return self.get_task_state_display()
        return self.get_vm_state_display()
