"""The storage app's API: a node's pools as its last probe listed them (nodes are the
admins': a member gets a 404, as for the node), and volumes."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from nodes import operations
from nodes.api.schema import errors
from nodes.api.serializers import ActionSerializer, VisibleChoice
from nodes.api.views import refused
from nodes.choices import VolumeStatus
from nodes.models import Instance, Node
from nodes.storage import volumes
from nodes.storage.models import StoragePool, Volume


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
            "owner",
            "created_at",
            "deleted_at",
        ]
        read_only_fields = ["status", "size_gib", "created_at", "deleted_at"]


class VolumeNode(serializers.SlugRelatedField):
    """A node by name, among those the caller may make volumes on."""

    def get_queryset(self):
        return volumes.nodes_for_volumes(self.context["request"].user)


class VolumeRequest(serializers.ModelSerializer):
    node = VolumeNode(slug_field="name", help_text="Where it is made (its pool kumo-volumes).")

    class Meta:
        model = Volume
        fields = ["name", "size_gib", "node"]


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
        """Create a blank volume of size_gib on a node; `creating` until the action has made
        it on the node, then `available`."""
        wanted = VolumeRequest(data=request.data, context={"request": request})
        wanted.is_valid(raise_exception=True)
        data = wanted.validated_data
        try:
            volume, action = volumes.create_volume(
                request.user, data["node"], data["size_gib"], data.get("name", "")
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
