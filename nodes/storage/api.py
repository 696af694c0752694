"""The storage app's API: a node's pools as its last probe listed them (nodes are the
admins': a member gets a 404, as for the node), and volumes."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from nodes import operations
from nodes.api.schema import errors
from nodes.api.serializers import ActionSerializer, ByName, VisibleChoice
from nodes.api.views import refused
from nodes.choices import ImageKind, SnapshotStatus, VolumeStatus
from nodes.models import Image, Instance, Node
from nodes.storage import snapshots, volumes
from nodes.storage.models import StoragePool, Volume, VolumeSnapshot


class StoragePoolSerializer(serializers.ModelSerializer):
    class Meta:
        model = StoragePool
        fields = [
            "name",
            "type",
            "active",
            "path",
            "capacity_bytes",
            "allocation_bytes",
            "available_bytes",
            "volumes",
            "seen_at",
        ]


@extend_schema(responses={200: StoragePoolSerializer(many=True), **errors(404)})
class NodePools(generics.ListAPIView):
    """The storage pools of a node, with their room in bytes."""

    serializer_class = StoragePoolSerializer
    pagination_class = None  # a node has a handful

    def get_queryset(self):
        node = get_object_or_404(Node.objects.for_user(self.request.user), name=self.kwargs["name"])
        return node.storage_pools.all()


class VolumeSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="ec2_id", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    node = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="Empty until the launch that makes it has placed its instance.",
    )
    instance = serializers.SlugRelatedField(
        slug_field="ec2_id",
        read_only=True,
        allow_null=True,
        help_text="The instance it is attached to, or being attached to or detached from.",
    )
    device = serializers.CharField(
        read_only=True, help_text="Its virtio device name in that instance (vdc …)."
    )

    class Meta:
        model = Volume
        fields = [
            "id",
            "name",
            "status",
            "size_gib",
            "node",
            "instance",
            "device",
            "delete_on_termination",
            "owner",
            "created_at",
            "deleted_at",
        ]
        read_only_fields = [
            "status",
            "size_gib",
            "delete_on_termination",
            "created_at",
            "deleted_at",
        ]


class VolumeNode(ByName):
    """A node by name, among those the caller may make volumes on."""

    def get_queryset(self):
        return volumes.nodes_for_volumes(self.context["request"].user)


class VolumeRequest(serializers.ModelSerializer):
    """A blank volume (size_gib, node), a copy of a machine image (image, node, size_gib
    at least the image's or left out), or of a volume snapshot (snapshot alone: its node
    and size)."""

    node = VolumeNode(
        slug_field="name",
        required=False,
        help_text="Where it is made (its pool kumo-volumes); a snapshot's copy is made beside it.",
    )
    image = VisibleChoice(
        slug_field="ec2_id",
        queryset=Image.objects.available().filter(kind=ImageKind.MACHINE),
        required=False,
        help_text="A machine image whose disk the volume starts with.",
    )
    snapshot = VisibleChoice(
        slug_field="ec2_id",
        queryset=VolumeSnapshot.objects.all(),
        required=False,
        help_text="A volume snapshot whose content the volume starts with.",
    )

    class Meta:
        model = Volume
        fields = ["name", "size_gib", "node", "image", "snapshot"]
        extra_kwargs = {"size_gib": {"required": False}}

    def validate(self, data):
        if "snapshot" in data:
            if set(data) - {"name", "snapshot"}:
                raise serializers.ValidationError("A snapshot's copy takes only a name.")
        elif "node" not in data:
            raise serializers.ValidationError({"node": ["This field is required."]})
        elif "image" not in data and "size_gib" not in data:
            raise serializers.ValidationError({"size_gib": ["This field is required."]})
        return data


class VolumeSnapshotSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="ec2_id", read_only=True)
    volume = serializers.CharField(source="volume_ec2_id", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    node = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = VolumeSnapshot
        fields = ["id", "volume", "status", "size_gib", "node", "owner", "created_at", "deleted_at"]
        read_only_fields = fields


class AttachRequest(serializers.Serializer):
    instance = VisibleChoice(
        slug_field="ec2_id",
        queryset=Instance.objects.all(),
        help_text="A running or stopped instance on the volume's node.",
    )


def started(volume, action, code=status.HTTP_202_ACCEPTED):
    body = {"volume": VolumeSerializer(volume).data, "action": ActionSerializer(action).data}
    return Response(body, status=code)


VOLUME_STARTED = inline_serializer(
    "VolumeStarted", {"volume": VolumeSerializer(), "action": ActionSerializer()}
)
SNAPSHOT_STARTED = inline_serializer(
    "VolumeSnapshotStarted",
    {"snapshot": VolumeSnapshotSerializer(), "action": ActionSerializer()},
)


@extend_schema_view(
    create=extend_schema(
        request=VolumeRequest, responses={202: VOLUME_STARTED, **errors(409, 503)}
    ),
    destroy=extend_schema(responses={202: VOLUME_STARTED, **errors(409, 503)}),
)
class VolumeViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Volumes: disks that outlive instances, attached by id (their serial in the guest:
    /dev/disk/by-id/virtio-vol-…). Deleted ones are left out of the list."""

    serializer_class = VolumeSerializer
    lookup_field = "ec2_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        volumes = Volume.objects.for_user(self.request.user).select_related(
            "owner", "node", "instance"
        )
        if self.action == "list":
            return volumes.exclude(status=VolumeStatus.DELETED)
        return volumes

    def create(self, request):
        """Create a volume on a node: blank, a machine image's disk or a volume snapshot's
        content; `creating` until the action has made it on the node, then `available`."""
        wanted = VolumeRequest(data=request.data, context={"request": request})
        wanted.is_valid(raise_exception=True)
        data = wanted.validated_data
        name = data.get("name", "")
        try:
            if "snapshot" in data:
                volume, action = volumes.create_volume_from_snapshot(
                    request.user, data["snapshot"], name
                )
            else:
                volume, action = volumes.create_volume(
                    request.user, data["node"], data.get("size_gib"), name, data.get("image")
                )
        except operations.Refused as error:
            raise refused(error) from error
        return started(volume, action)

    def destroy(self, request, id=None):
        """Delete the volume (available or failed; an attached one is a 409: detach it
        first). `deleting` until the action has removed its file."""
        volume = self.get_object()
        try:
            action = volumes.delete_volume(volume, request.user)
        except operations.Refused as error:
            raise refused(error) from error
        volume.refresh_from_db()
        return started(volume, action)

    @extend_schema(request=AttachRequest, responses={202: VOLUME_STARTED, **errors(409, 503)})
    @action(detail=True, methods=["post"])
    def attach(self, request, id=None):
        """Attach the volume to an instance on its node, live if it runs, as its next free
        device; 409 with the reason when either is not free for it."""
        volume = self.get_object()
        wanted = AttachRequest(data=request.data, context={"request": request})
        wanted.is_valid(raise_exception=True)
        try:
            action = volumes.attach_volume(volume, wanted.validated_data["instance"], request.user)
        except operations.Refused as error:
            raise refused(error) from error
        volume.refresh_from_db()
        return started(volume, action)

    @extend_schema(methods=["GET"], request=None, responses=VolumeSnapshotSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=None,
        responses={202: SNAPSHOT_STARTED, **errors(409, 503)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def snapshots(self, request, id=None):
        """GET: the volume's snapshots, newest first. POST: take one (of an available
        volume: no guest writes to it); `pending` until the action has copied it, then
        `completed`."""
        volume = self.get_object()
        if request.method == "GET":
            kept = volume.snapshots.exclude(status=SnapshotStatus.DELETED)
            return Response(VolumeSnapshotSerializer(kept, many=True).data)
        try:
            snapshot, action = snapshots.snapshot_volume(volume, request.user)
        except operations.Refused as error:
            raise refused(error) from error
        body = {
            "snapshot": VolumeSnapshotSerializer(snapshot).data,
            "action": ActionSerializer(action).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: VOLUME_STARTED, **errors(409, 503)})
    @action(detail=True, methods=["post"])
    def detach(self, request, id=None):
        """Detach the volume from its instance (a running guest must let it go within
        KUMO_DETACH_TIMEOUT s)."""
        volume = self.get_object()
        try:
            action = volumes.detach_volume(volume, request.user)
        except operations.Refused as error:
            raise refused(error) from error
        volume.refresh_from_db()
        return started(volume, action)


@extend_schema_view(
    destroy=extend_schema(
        responses={
            202: inline_serializer("SnapshotDeleting", {"action": ActionSerializer()}),
            **errors(409, 503),
        }
    ),
)
class VolumeSnapshotViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Volume snapshots: flattened copies of volumes, beside them on their node; new volumes
    and images are made of them. Deleted ones are left out of the list."""

    serializer_class = VolumeSnapshotSerializer
    lookup_field = "ec2_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        kept = VolumeSnapshot.objects.for_user(self.request.user).select_related("owner", "node")
        if self.action == "list":
            return kept.exclude(status=SnapshotStatus.DELETED)
        return kept

    def destroy(self, request, id=None):
        """Delete the snapshot (completed or failed); 409 while a volume or an image is
        being made of it."""
        try:
            action = snapshots.delete_snapshot(self.get_object(), request.user)
        except operations.Refused as error:
            raise refused(error) from error
        return Response({"action": ActionSerializer(action).data}, status=status.HTTP_202_ACCEPTED)
