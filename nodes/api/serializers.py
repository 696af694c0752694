"""JSON shapes of the inventory. Objects refer to each other by the ids the UI shows."""

from rest_framework import serializers

from nodes.forms import ClusterForm, InstanceTypeForm, NodeForm
from nodes.models import Action, Cluster, Image, Instance, InstanceAddress, InstanceType, Node


def slug(field, **kwargs):
    return serializers.SlugRelatedField(slug_field=field, read_only=True, **kwargs)


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = [*ClusterForm._meta.fields, "created_at"]


class NodeWrite(serializers.ModelSerializer):
    """What an admin writes of a node: NodeForm's fields (the password is never read back)."""

    cluster = serializers.SlugRelatedField(slug_field="name", queryset=Cluster.objects.all())
    password = serializers.CharField(
        write_only=True, required=False, help_text=NodeForm.base_fields["password"].help_text
    )

    class Meta:
        model = Node
        fields = NodeForm._meta.fields


class NodeSerializer(serializers.ModelSerializer):
    cluster = slug("name")

    class Meta:
        model = Node
        fields = [
            "name",
            "cluster",
            "uri",
            "auth_method",
            "domain_type",
            "enabled",
            "status",
            "last_seen",
            "last_probed",
            "last_error",
            "hostname",
            "arch",
            "cpus",
            "memory_mb",
            "cpu_allocation_ratio",
            "ram_allocation_ratio",
            "disk_allocation_ratio",
            "hypervisor",
            "hypervisor_version",
            "libvirt_version",
            "supported_domain_types",
            "disk_gb",
            "draining",
            "drain_report",
        ]
        read_only_fields = ["draining", "drain_report"]


class ImageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="ec2_id", read_only=True)
    owner = slug("username")

    class Meta:
        model = Image
        fields = [
            "id",
            "kind",
            "name",
            "description",
            "format",
            "size_bytes",
            "is_public",
            "owner",
            *Image.PROPERTIES,
            "status",
            "location",
            "created_at",
        ]
        extra_kwargs = {"location": {"required": False}}  # admins only: see below

    def to_representation(self, image):
        data = super().to_representation(image)
        request = self.context.get("request")
        if not (request and request.user.is_staff):
            data.pop("location")  # a path on the console host: the admins' business
        return data


class InstanceTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstanceType
        fields = InstanceTypeForm._meta.fields


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstanceAddress
        fields = ["mac", "network", "ip", "prefix", "family", "source", "seen_at"]


class TuningSerializer(serializers.Serializer):
    cpu_weight = serializers.IntegerField(help_text="Share of contended CPU time (256 normal).")
    cpu_cap = serializers.IntegerField(help_text="Most CPU in % of one CPU; 0: none.")
    memory_mib = serializers.IntegerField(source="memory_mb", help_text="Memory it has now.")
    vcpus = serializers.IntegerField(help_text="vCPUs it has now.")


class MigrationSerializer(serializers.Serializer):
    action = serializers.IntegerField(source="pk", help_text="The migrate action.")
    node = serializers.CharField(source="params.node", help_text="The destination.")
    live = serializers.BooleanField(source="params.live")
    status = serializers.CharField()
    progress_percent = serializers.FloatField(source="progress.progress_percent", default=None)
    data_total_bytes = serializers.IntegerField(source="progress.data_total_bytes", default=None)
    data_processed_bytes = serializers.IntegerField(
        source="progress.data_processed_bytes", default=None
    )
    data_remaining_bytes = serializers.IntegerField(
        source="progress.data_remaining_bytes", default=None
    )
    disk_processed_bytes = serializers.IntegerField(
        source="progress.disk_processed_bytes", default=None, help_text="Of the disks copied."
    )
    disk_remaining_bytes = serializers.IntegerField(
        source="progress.disk_remaining_bytes", default=None
    )
    memory_dirty_rate = serializers.IntegerField(
        source="progress.memory_dirty_rate", default=None, help_text="Pages per second."
    )
    memory_iteration = serializers.IntegerField(source="progress.memory_iteration", default=None)
    expected_downtime_ms = serializers.IntegerField(
        source="progress.expected_downtime_ms", default=None
    )
    elapsed_ms = serializers.IntegerField(source="progress.elapsed_ms", default=None)
    max_speed_mib_s = serializers.IntegerField(source="params.max_speed_mib_s", default=None)
    max_downtime_ms = serializers.IntegerField(source="params.max_downtime_ms", default=None)


class InstanceSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="ec2_id", read_only=True)
    owner = slug("username")
    cluster = slug("name")
    node = slug("name", allow_null=True)
    image = slug("ec2_id")
    kernel = slug("ec2_id", allow_null=True)
    ramdisk = slug("ec2_id", allow_null=True)
    cdrom = slug("ec2_id", allow_null=True, help_text="The ISO image in its CD-ROM drive.")
    instance_type = slug("name")
    keypair = slug("name", allow_null=True)
    addresses = AddressSerializer(
        many=True,
        read_only=True,
        help_text="Its NICs' addresses as libvirt last reported them, while it runs.",
    )
    tuning = TuningSerializer(
        read_only=True, help_text="What it runs with: its instance type's unless tuned."
    )
    migration = MigrationSerializer(
        source="running_migration",
        read_only=True,
        allow_null=True,
        help_text="While it migrates: where to, and libvirt's figures of the job.",
    )

    class Meta:
        model = Instance
        fields = [
            "id",
            "name",
            "owner",
            "cluster",
            "node",
            "image",
            "kernel",
            "ramdisk",
            "cdrom",
            "instance_type",
            "keypair",
            "reservation_id",
            "launch_index",
            "status",
            "vm_state",
            "task_state",
            "power_state",
            "created_at",
            "launched_at",
            "terminated_at",
            "addresses",
            "tuning",
            "migration",
        ]


class ActionSerializer(serializers.ModelSerializer):
    action = serializers.CharField(source="kind")
    instance = serializers.SlugRelatedField(
        slug_field="ec2_id",
        read_only=True,
        allow_null=True,
        help_text="Empty for an action on a volume or volume snapshot alone.",
    )
    volume = serializers.SlugRelatedField(
        slug_field="ec2_id",
        read_only=True,
        allow_null=True,
        help_text="The volume it creates, deletes, attaches or detaches.",
    )
    volume_snapshot = serializers.SlugRelatedField(
        slug_field="ec2_id",
        read_only=True,
        allow_null=True,
        help_text="The volume snapshot it takes or deletes, or makes an image of.",
    )
    image = serializers.SlugRelatedField(
        slug_field="ec2_id",
        read_only=True,
        allow_null=True,
        help_text="The image a make-an-image action makes.",
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Action
        fields = [
            "id",
            "action",
            "instance",
            "volume",
            "volume_snapshot",
            "image",
            "owner",
            "params",
            "status",
            "steps",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ByName(serializers.SlugRelatedField):
    """A related object written by its name or UI id."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            # PostgreSQL refuses NUL in a query; no name holds one anyway.
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class VisibleChoice(ByName):
    """A related object by its UI id, among those the caller may see (others: "no such")."""

    def get_queryset(self):
        return self.queryset.for_user(self.context["request"].user)
