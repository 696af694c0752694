"""Clusters and the nodes (hypervisor hosts) in them."""

from urllib.parse import urlsplit

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from nodes import credentials
from nodes.choices import AuthMethod, CpuMode, DomainType, NicType, NodeStatus, PlacementPolicy
from nodes.querysets import VisibleQuerySet
from nodes.validators import validate_libvirt_uri, validate_name, validate_xml_text


class Cluster(models.Model):
    """A group of nodes that share a placement policy."""

    MEMBER_VISIBILITY = "all"

    name = models.CharField(max_length=63, unique=True, validators=[validate_name])
    description = models.CharField(max_length=255, blank=True, validators=[validate_xml_text])
    placement_policy = models.CharField(
        max_length=16, choices=PlacementPolicy, default=PlacementPolicy.GREEDY
    )
    cpu_mode = models.CharField(
        "CPU mode",
        max_length=16,
        choices=CpuMode,
        default=CpuMode.AUTO,
        help_text="The guest CPU of this cluster's nodes, unless a node says otherwise.",
    )
    cpu_model = models.CharField(
        "CPU model",
        max_length=64,
        blank=True,
        validators=[validate_xml_text],
        help_text="For the custom mode, e.g. Haswell.",
    )
    last_placed = models.ForeignKey(
        "nodes.Node",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Where the round-robin policy placed the last instance.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(placement_policy__in=PlacementPolicy.values),
                name="cluster_placement_policy_valid",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("kumo:cluster_detail", args=[self.name])


class Node(models.Model):
    """A hypervisor host reached by a libvirt URI, with what the last probe discovered."""

    MEMBER_VISIBILITY = "none"

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="nodes")
    name = models.CharField(max_length=63, unique=True, validators=[validate_name])
    uri = models.CharField(
        "libvirt URI",
        max_length=255,
        validators=[validate_libvirt_uri],
        help_text="For example qemu:///system, qemu+ssh://root@host/system, "
        "qemu+tls://host/system or test+unix:///default.",
    )
    auth_method = models.CharField(max_length=8, choices=AuthMethod, default=AuthMethod.NONE)
    username = models.CharField(
        max_length=150, blank=True, validators=[validate_xml_text], help_text="SASL username."
    )
    sealed_password = models.CharField(max_length=512, blank=True, editable=False)
    domain_type = models.CharField(max_length=8, choices=DomainType, default=DomainType.KVM)
    cpu_allocation_ratio = models.DecimalField(max_digits=5, decimal_places=2, default=4)
    ram_allocation_ratio = models.DecimalField(max_digits=5, decimal_places=2, default=1)
    disk_allocation_ratio = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=1,
        help_text="Root and ephemeral disks are thin qcow2 files: above 1 promises more disk "
        "than the node has.",
    )
    enabled = models.BooleanField(default=True)
    # Maintenance: no placements on it while its instances move away (nodes/draining.py).
    draining = models.BooleanField(default=False)
    drain_report = models.JSONField(
        default=dict, blank=True, help_text="The last drain: who, when, what moved, what not."
    )
    cpu_mode = models.CharField(
        "CPU mode",
        max_length=16,
        choices=CpuMode,
        blank=True,
        help_text="Blank: the cluster's CPU mode.",
    )
    cpu_model = models.CharField(
        "CPU model", max_length=64, blank=True, validators=[validate_xml_text]
    )
    vnc_listen = models.CharField(
        "VNC listen address",
        max_length=64,
        blank=True,
        default="127.0.0.1",
        validators=[validate_xml_text],
        help_text="Where instances' VNC servers listen on the node (reachable by the console "
        "proxy only); blank for no VNC graphics.",
    )
    nic_type = models.CharField("NIC type", max_length=8, choices=NicType, default=NicType.NETWORK)
    nic_source = models.CharField(
        "NIC source",
        max_length=64,
        blank=True,
        default="default",
        validators=[validate_xml_text],
        help_text="The libvirt network or host bridge instances attach to.",
    )
    images_path = models.CharField(
        max_length=255,
        default="/var/lib/kumo/images",
        validators=[validate_xml_text],
        help_text="Directory on the node holding images (kernels, ramdisks, disks).",
    )
    instances_path = models.CharField(
        max_length=255,
        default="/var/lib/kumo/instances",
        validators=[validate_xml_text],
        help_text="Directory on the node holding each instance's disks and console log.",
    )
    volumes_path = models.CharField(
        max_length=255,
        default="/var/lib/kumo/volumes",
        validators=[validate_xml_text],
        help_text="Directory on the node holding volumes (Kumo's storage pool kumo-volumes).",
    )

    status = models.CharField(max_length=8, choices=NodeStatus, default=NodeStatus.UNKNOWN)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_probed = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    hostname = models.CharField(max_length=255, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    cpus = models.PositiveIntegerField(null=True, blank=True)
    memory_mb = models.PositiveBigIntegerField(null=True, blank=True)
    hypervisor = models.CharField(max_length=32, blank=True)
    hypervisor_version = models.CharField(max_length=32, blank=True)
    libvirt_version = models.CharField(max_length=32, blank=True)
    supported_domain_types = models.JSONField(default=list, blank=True)
    disk_gb = models.PositiveIntegerField(
        "disk (GiB)",
        null=True,
        blank=True,
        help_text="Size of the filesystem of the node's images pool, once Kumo made it.",
    )

    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["cluster__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=NodeStatus.values), name="node_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(domain_type__in=DomainType.values), name="node_domain_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(auth_method__in=AuthMethod.values), name="node_auth_method_valid"
            ),
            models.CheckConstraint(
                condition=~Q(auth_method=AuthMethod.SASL) | ~Q(username=""),
                name="node_sasl_needs_username",
                violation_error_message="SASL needs a username.",
            ),
            models.CheckConstraint(
                condition=Q(cpu_allocation_ratio__gt=0)
                & Q(ram_allocation_ratio__gt=0)
                & Q(disk_allocation_ratio__gt=0),
                name="node_allocation_ratios_positive",
                violation_error_message="CPU, RAM and disk allocation ratios must be above 0.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("kumo:node_detail", args=[self.name])

    @property
    def password(self):
        return credentials.unseal(self.sealed_password)

    def set_password(self, password):
        self.sealed_password = credentials.seal(password)

    @property
    def vcpu_capacity(self):
        return int(self.cpus * self.cpu_allocation_ratio) if self.cpus else 0

    @property
    def memory_capacity_mb(self):
        return int(self.memory_mb * self.ram_allocation_ratio) if self.memory_mb else 0

    @property
    def disk_capacity_gb(self):
        """None until a probe has measured the images pool's filesystem."""
        return int(self.disk_gb * self.disk_allocation_ratio) if self.disk_gb else None

    def endpoint(self):
        """How to reach its libvirt: the URI and credentials (NodeError when its sealed
        password cannot be opened)."""
        # Imported here: libvirt is loaded only by the processes that talk to nodes.
        from nodes.libvirt import Endpoint, NodeError

        try:
            password = self.password
        except ValueError as error:
            raise NodeError(str(error)) from error
        return Endpoint(self.uri, self.auth_method, self.username, password)

    @property
    def vnc_address(self):
        """Where the console proxy reaches this node's VNC servers; "" when it cannot (a
        remote node whose VNC listens on its own loopback)."""
        host = urlsplit(self.uri).hostname
        remote = host not in (None, "", "localhost", "127.0.0.1", "::1")
        if self.vnc_listen in ("0.0.0.0", "::"):  # noqa: S104  (listens everywhere)
            return host if remote else "127.0.0.1"
        if remote and self.vnc_listen in ("127.0.0.1", "localhost", "::1"):
            return ""
        return self.vnc_listen

    @property
    def effective_cpu_mode(self):
        """The CPU mode for domains on this node: its own, else its cluster's; "auto" is
        host-model under KVM and none elsewhere (TCG, Xen and the test driver lack it)."""
        mode, model = self.cpu_mode, self.cpu_model
        if not mode:
            mode, model = self.cluster.cpu_mode, self.cluster.cpu_model
        if mode == CpuMode.AUTO:
            mode = CpuMode.HOST_MODEL if self.domain_type == DomainType.KVM else CpuMode.NONE
        return mode, model

    def record_probe(self, facts):
        """Save what a successful probe discovered and mark the node up."""
        now = timezone.now()
        for field, value in facts.items():
            setattr(self, field, value)
        self.status, self.last_seen, self.last_probed, self.last_error = NodeStatus.UP, now, now, ""
        self.save(update_fields=[*facts, "status", "last_seen", "last_probed", "last_error"])

    def record_failure(self, message):
        """Mark the node down with a message a person can act on."""
        self.status, self.last_probed, self.last_error = NodeStatus.DOWN, timezone.now(), message
        self.save(update_fields=["status", "last_probed", "last_error"])
