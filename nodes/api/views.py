"""Read endpoints for the inventory, and the node probe. Visibility is `for_user`."""

from contextlib import suppress

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from nodes import operations
from nodes.api import serializers as shapes
from nodes.api import uploads
from nodes.api.schema import errors
from nodes.api.writes import FormWrites, checked, documented
from nodes.forms import ClusterForm, ImageForm, ImageUploadForm, InstanceTypeForm, NodeForm
from nodes.models import Image, Instance
from nodes.storage.models import Volume, VolumeSnapshot
from nodes.storage.snapshots import make_image_of_snapshot
from nodes.storage.volumes import make_image_of_volume

# Names may hold dots (m1.small): DRF's default lookup pattern stops at the first one.
NAME_IN_URL = "[^/]+"


def refused(error):
    """The API's answer to an operations.Refused: its status, its message (under its field,
    if it names one), as the pages give it."""
    detail = {error.field: [error.message]} if error.field else error.message
    answer = APIException(detail)
    answer.status_code = error.status
    return answer


class QueueDown(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "queue_unavailable"


class VisibleViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists and details rows of `for_user(request.user)`; others are 404."""

    lookup_value_regex = NAME_IN_URL

    def get_queryset(self):
        return self.serializer_class.Meta.model.objects.for_user(self.request.user)


@documented(shapes.ClusterSerializer, shapes.ClusterSerializer)
class ClusterViewSet(FormWrites, VisibleViewSet):
    serializer_class = shapes.ClusterSerializer
    form_class = ClusterForm
    lookup_field = "name"


@documented(shapes.NodeWrite, shapes.NodeSerializer)
class NodeViewSet(FormWrites, VisibleViewSet):
    """Nodes (admins). A node added or changed is probed, as from its page."""

    serializer_class = shapes.NodeSerializer
    form_class = NodeForm
    slugs = {"cluster": "name"}
    lookup_field = "name"

    def get_queryset(self):
        return super().get_queryset().select_related("cluster")

    def after_save(self, node):
        with suppress(operations.QueueUnavailable):  # the watcher probes it in a while
            operations.request_probe(node)

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("ProbeQueued", {"job_id": serializers.CharField()}),
            **errors(503),
        },
    )
    @action(detail=True, methods=["post"])
    def check(self, request, name=None):
        """Queue a connection check of the node (admins); watch `status` and `last_error`."""
        node = self.get_object()
        if not request.user.is_staff:
            raise PermissionDenied("Only admins can check a node's connection.")
        try:
            job_id = operations.request_probe(node)
        except operations.QueueUnavailable as error:
            raise QueueDown(str(error)) from error
        return Response({"job_id": job_id}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: shapes.NodeSerializer, **errors(403, 409, 503)})
    @action(detail=True, methods=["post"])
    def drain(self, request, name=None):
        """Maintenance (admins): no placements on the node while a job moves its instances
        to the cluster's other nodes one by one; `drain_report` says what moved and what
        could not, and why."""
        node = self.get_object()
        try:
            operations.drain(node, request.user)
        except operations.Refused as error:
            raise refused(error) from error
        node.refresh_from_db()
        return Response(shapes.NodeSerializer(node).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: shapes.NodeSerializer, **errors(403)})
    @action(detail=True, methods=["post"])
    def undrain(self, request, name=None):
        """Back in service (admins): placements may choose the node again; a drain still
        moving instances stops before the next one."""
        node = self.get_object()
        try:
            operations.undrain(node, request.user)
        except operations.Refused as error:
            raise refused(error) from error
        node.refresh_from_db()
        return Response(shapes.NodeSerializer(node).data)


SOURCES = ["from_instance", "from_volume", "from_snapshot"]


class ImageFromDisk(serializers.ModelSerializer):
    """What an image is made of (one of SOURCES), its name, and any of its properties (from an
    instance: its image's, unless given; from a volume or snapshot: the defaults, unless
    given)."""

    from_instance = shapes.VisibleChoice(
        slug_field="ec2_id",
        queryset=Instance.objects.all(),
        required=False,
        help_text="A stopped instance: its root disk is copied, flattened, into the image.",
    )
    from_volume = shapes.VisibleChoice(
        slug_field="ec2_id",
        queryset=Volume.objects.all(),
        required=False,
        help_text="A volume, available or attached to a stopped instance, copied flattened.",
    )
    from_snapshot = shapes.VisibleChoice(
        slug_field="ec2_id",
        queryset=VolumeSnapshot.objects.all(),
        required=False,
        help_text="A completed volume snapshot, copied flattened into the image.",
    )

    class Meta:
        model = Image
        fields = ["name", *SOURCES, *Image.PROPERTIES]
        extra_kwargs = {field: {"required": False} for field in Image.PROPERTIES}

    def validate(self, data):
        if len(set(SOURCES) & set(data)) != 1:
            raise serializers.ValidationError(f"Give one of {', '.join(SOURCES)}.")
        return data


# How each source becomes an image: fn(source, user, name, properties) → (image, action).
MAKE_IMAGE = {
    "from_instance": operations.make_image,
    "from_volume": make_image_of_volume,
    "from_snapshot": make_image_of_snapshot,
}


class ImageRegister(serializers.ModelSerializer):
    class Meta:
        model = Image
        fields = ImageForm._meta.fields
        extra_kwargs = {"location": {"help_text": ImageForm._meta.help_texts["location"]}}


class ImageUpload(ImageRegister):
    file = serializers.FileField(help_text="The image file, of the format given.")

    class Meta(ImageRegister.Meta):
        fields = [*(field for field in ImageForm._meta.fields if field != "location"), "file"]


IMAGE_STARTED = inline_serializer(
    "ImageStarted", {"image": shapes.ImageSerializer(), "action": shapes.ActionSerializer()}
)


def image_started(image, action):
    """The answer to a request that started filling an image: 202, the image and its action."""
    body = {
        "image": shapes.ImageSerializer(image).data,
        "action": shapes.ActionSerializer(action).data,
    }
    return Response(body, status=status.HTTP_202_ACCEPTED)


@documented(ImageRegister, shapes.ImageSerializer, creates=False)
class ImageViewSet(FormWrites, VisibleViewSet):
    """Images: made of disks in the cloud (POST, anyone for their own), registered from a
    file on the console host or imported from a URL (POST …/register/) or uploaded (POST
    …/upload/) by admins, changed or deleted (admins)."""

    serializer_class = shapes.ImageSerializer
    form_class = ImageForm
    admin_actions = ("register", "upload", "partial_update", "destroy")
    lookup_field = "ec2_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        return super().get_queryset().select_related("owner")

    def form_kwargs(self):
        return {"owner": self.request.user}

    @extend_schema(
        request=ImageRegister,
        responses={201: shapes.ImageSerializer, 202: IMAGE_STARTED, **errors(400)},
    )
    @action(detail=False, methods=["post"])
    def register(self, request):
        """Register an image as the New image page does: kind, name, format, location,
        public or not, properties; owned by you. A location that is a path on the console
        host registers that file (201); an http(s) URL imports it (202): the image is
        `pending` until its action has downloaded and checked it, then `available`."""
        return FormWrites.create(self, request)

    def saved(self, form, answer_status):
        checked(form)
        try:
            if form.import_url is None:
                return super().saved(form, answer_status)
            image = form.save()
        except operations.Refused as error:  # its name taken meanwhile, or Redis gone
            raise refused(error) from error
        return image_started(image, form.import_action)

    @extend_schema(request=ImageUpload, responses={201: shapes.ImageSerializer, **errors(400)})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request):
        """Upload an image file (multipart/form-data: `file` and register's fields but
        location), checked to be a whole image of the format given (`qemu-img info`: no
        backing file), and kept in KUMO_IMAGES_DIR; `curl -#` shows the upload's progress."""
        given, files = uploads.received(request)
        form = self.new_form(given, form_class=ImageUploadForm, files=files)
        return self.saved(form, status.HTTP_201_CREATED)

    def initial(self, request, *args, **kwargs):
        if self.action == "upload":  # before authentication: a session's CSRF check reads it
            uploads.accept_uploads(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(request=ImageFromDisk, responses={202: IMAGE_STARTED, **errors(400, 409, 503)})
    def create(self, request):
        """Make a machine image of a stopped instance's root disk, a volume or a volume
        snapshot; it is `pending` until the action has copied it, then `available` (private
        until an admin makes it public)."""
        wanted = ImageFromDisk(data=request.data, context={"request": request})
        wanted.is_valid(raise_exception=True)
        data = dict(wanted.validated_data)
        name = data.pop("name")
        [(source, disk)] = [(key, data.pop(key)) for key in SOURCES if key in data]
        try:
            image, started = MAKE_IMAGE[source](disk, request.user, name, data)
        except operations.Refused as error:
            raise refused(error) from error
        return image_started(image, started)


@documented(shapes.InstanceTypeSerializer, shapes.InstanceTypeSerializer)
class InstanceTypeViewSet(FormWrites, VisibleViewSet):
    serializer_class = shapes.InstanceTypeSerializer
    form_class = InstanceTypeForm
    lookup_field = "name"
