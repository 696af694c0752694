"""Instances API: launch, act, read actions. What a user may see comes from for_user."""

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as detail_action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from nodes import consoles, operations, states
from nodes.api.schema import errors
from nodes.api.serializers import (
    ActionSerializer,
    ByName,
    InstanceSerializer,
    MigrationSerializer,
    VisibleChoice,
)
from nodes.api.views import QueueDown, refused
from nodes.choices import ActionKind, ActionStatus, ConsoleKind, ImageKind
from nodes.models import (
    Action,
    Cluster,
    Image,
    Instance,
    InstanceAddress,
    InstanceType,
    Keypair,
    Node,
)
from nodes.storage.models import MAX_SIZE_GIB, Volume
from nodes.storage.volumes import MAX_AT_LAUNCH, launch_with_volumes
from nodes.validators import validate_xml_text

MAX_COUNT = 20


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_allowed_now"


class OwnKeypair(ByName):
    """A keypair by name among the caller's own (names repeat across users)."""

    def get_queryset(self):
        user = self.context["request"].user
        return Keypair.objects.for_user(user).filter(owner=user)


class LaunchVolume(serializers.Serializer):
    """One volume of a launch: an existing one of yours by id, or a new blank one."""

    id = VisibleChoice(
        slug_field="ec2_id",
        queryset=Volume.objects.all(),
        required=False,
        help_text="An available volume (the instance goes to its node).",
    )
    size_gib = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SIZE_GIB, help_text="A new blank volume."
    )

    def validate(self, data):
        if len(data) != 1:
            raise serializers.ValidationError("Give either the id of a volume or a size_gib.")
        return data.get("id") or data["size_gib"]


class LaunchSerializer(serializers.Serializer):
    image = VisibleChoice(
        slug_field="ec2_id", queryset=Image.objects.available().filter(kind=ImageKind.MACHINE)
    )
    kernel = VisibleChoice(
        slug_field="ec2_id",
        queryset=Image.objects.available().filter(kind=ImageKind.KERNEL),
        required=False,
        allow_null=True,
    )
    ramdisk = VisibleChoice(
        slug_field="ec2_id",
        queryset=Image.objects.available().filter(kind=ImageKind.RAMDISK),
        required=False,
        allow_null=True,
    )
    cdrom = VisibleChoice(
        slug_field="ec2_id",
        queryset=Image.objects.available().filter(kind=ImageKind.ISO),
        required=False,
        allow_null=True,
        help_text="An ISO image (an installer's) in a CD-ROM drive, booted first.",
    )
    instance_type = VisibleChoice(slug_field="name", queryset=InstanceType.objects.all())
    keypair = OwnKeypair(
        slug_field="name", queryset=Keypair.objects.all(), required=False, allow_null=True
    )
    user_data = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=255, validators=[validate_xml_text]
    )
    count = serializers.IntegerField(required=False, min_value=1, max_value=MAX_COUNT, default=1)
    cluster = VisibleChoice(
        slug_field="name", queryset=Cluster.objects.all(), required=False, allow_null=True
    )
    node = VisibleChoice(
        slug_field="name", queryset=Node.objects.all(), required=False, allow_null=True
    )
    volumes = LaunchVolume(
        many=True,
        required=False,
        max_length=MAX_AT_LAUNCH,
        help_text="Attached from the first boot, in device order (vdc, vdd …); count 1 only.",
    )

    def validate_user_data(self, text):
        try:
            return operations.encoded_user_data(text)
        except operations.LaunchInvalid as error:
            raise serializers.ValidationError(str(error)) from error

    def validate(self, data):
        try:
            cluster = operations.launch_cluster(data.get("cluster"), data.get("node"))
        except operations.LaunchInvalid as error:
            raise serializers.ValidationError({error.field: str(error)}) from error
        if data.get("volumes") and data["count"] != 1:
            raise serializers.ValidationError({"volumes": "Volumes attach to one instance."})
        return {**data, "cluster": cluster}


API_ACTIONS = ", ".join([*states.USER_ACTIONS, *sorted(states.WITH_OPTIONS)])


class ActionRequest(serializers.Serializer):
    action = serializers.CharField(
        help_text=f"One of {API_ACTIONS}.",
        error_messages={"invalid": f"Choose one of {API_ACTIONS}."},
    )
    snapshot = serializers.CharField(
        required=False, allow_blank=True, help_text="The snapshot to revert to or delete."
    )
    delete_volumes = serializers.BooleanField(
        required=False,
        default=False,
        help_text="terminate only: delete the volumes attached to it as well (otherwise "
        "they are detached and kept).",
    )
    cpu_weight = serializers.IntegerField(
        required=False, help_text="tune: share of contended CPU time, 1 to 65536 (256 normal)."
    )
    cpu_cap = serializers.IntegerField(
        required=False, help_text="tune: most CPU in % of one CPU (0: none), 100 per vCPU at most."
    )
    memory_mib = serializers.IntegerField(
        required=False, help_text="tune: the memory it has, up to its instance type's."
    )
    vcpus = serializers.IntegerField(
        required=False, help_text="tune: the vCPUs it has, up to its instance type's."
    )
    instance_type = VisibleChoice(
        slug_field="name",
        queryset=InstanceType.objects.all(),
        required=False,
        help_text="resize: the instance type to resize to.",
    )
    stop = serializers.BooleanField(
        required=False,
        default=False,
        help_text="resize: agreed that a running instance is stopped first (and started again).",
    )
    node = serializers.CharField(
        required=False, help_text="migrate: the destination; absent, placement picks it."
    )
    live = serializers.BooleanField(
        required=False,
        default=True,
        help_text="migrate: a running instance moves live; false moves only a stopped one.",
    )
    max_speed_mib_s = serializers.IntegerField(
        required=False, help_text="migrate: the most it sends per second, in MiB."
    )
    max_downtime_ms = serializers.IntegerField(
        required=False, help_text="migrate: the longest pause at the switch-over, in ms."
    )


def start_action(instance, asked, user):
    """The action an ActionRequest asks for, with its options."""
    limits = {name: asked.get(name) for name in ("max_speed_mib_s", "max_downtime_ms")}
    if asked["action"] == ActionKind.TUNE:
        return operations.tune(instance, user, **{f: asked.get(f) for f in operations.TUNABLE})
    if asked["action"] == ActionKind.RESIZE:
        if "instance_type" not in asked:
            raise operations.Refused("Name the instance type to resize to.", field="instance_type")
        return operations.resize(instance, user, asked["instance_type"], asked["stop"])
    if asked["action"] == ActionKind.MIGRATE:
        return operations.migrate(instance, user, asked.get("node"), asked["live"], **limits)
    if asked["action"] == ActionKind.ABORT_MIGRATION:
        return operations.abort_migration(instance, user)
    return operations.request_named_action(
        instance, asked["action"], user, asked.get("snapshot", ""), asked["delete_volumes"]
    )


class MigrationLimits(serializers.Serializer):
    max_speed_mib_s = serializers.IntegerField(
        required=False, help_text="The most the migration sends per second, in MiB."
    )
    max_downtime_ms = serializers.IntegerField(
        required=False, help_text="The longest pause at the switch-over, in ms."
    )


class ConsoleRequest(serializers.Serializer):
    type = serializers.ChoiceField(ConsoleKind.choices)
    read_only = serializers.BooleanField(
        default=False, help_text="Serial only: watch without typing."
    )


class ConsoleGrant(serializers.Serializer):
    url = serializers.URLField(help_text="The console page.")
    ws_url = serializers.CharField(help_text="The websocket URL, with a one-time token.")
    expires_at = serializers.DateTimeField()
    password = serializers.CharField(required=False, help_text="VNC only: the VNC password.")


class ConsoleOutputSerializer(serializers.Serializer):
    output = serializers.CharField()
    truncated = serializers.BooleanField(help_text="Older output was left out (64 KiB kept).")
    fetched_at = serializers.DateTimeField(allow_null=True, help_text="When it was read.")
    refreshing = serializers.BooleanField(help_text="A fresh read is queued: ask again.")


class InstanceFilter(serializers.Serializer):
    ip = serializers.IPAddressField(
        required=False, allow_blank=True, help_text="Only instances with this IPv4 or IPv6 address."
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[InstanceFilter], responses={200: InstanceSerializer(many=True), **errors(400)}
    )
)
class InstanceViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = InstanceSerializer
    filter_params = ["ip"]
    lookup_field = "ec2_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        related = ["owner", "cluster", "node", "image", "kernel", "ramdisk", "instance_type"]
        instances = Instance.objects.for_user(self.request.user).select_related(*related, "keypair")
        return instances.prefetch_related("addresses")

    def filter_queryset(self, queryset):
        """`?ip=` (an exact address, IPv4 or IPv6) on the list; a malformed one is a 400."""
        if self.action != "list":
            return queryset
        wanted = InstanceFilter(data=self.request.query_params)
        wanted.is_valid(raise_exception=True)
        if ip := wanted.validated_data.get("ip"):
            queryset = queryset.filter(
                pk__in=InstanceAddress.objects.filter(ip=ip).values("instance")
            )
        return queryset

    @extend_schema(
        request=LaunchSerializer,
        responses={
            202: inline_serializer(
                "Launched",
                {
                    "instances": InstanceSerializer(many=True),
                    "actions": ActionSerializer(many=True),
                },
            ),
            **errors(503),
        },
    )
    def create(self, request):
        """Launch count instances; each gets a launch action to watch."""
        launch = LaunchSerializer(data=request.data, context={"request": request})
        launch.is_valid(raise_exception=True)
        fields = dict(launch.validated_data)
        wanted = fields.pop("volumes", [])
        try:
            if wanted:
                fields.pop("count")
                launched = launch_with_volumes(request.user, wanted, **fields)
            else:
                launched = operations.launch(request.user, **fields)
        except operations.QueueUnavailable as error:
            raise QueueDown(str(error)) from error
        except operations.QuotaExceeded as error:
            raise serializers.ValidationError({"quota": [str(error)]}) from error
        except operations.LaunchInvalid as error:
            raise serializers.ValidationError({error.field: [str(error)]}) from error
        except operations.Refused as error:
            raise refused(error) from error
        return Response(
            {
                "instances": InstanceSerializer([i for i, _ in launched], many=True).data,
                "actions": ActionSerializer([a for _, a in launched], many=True).data,
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        request=ActionRequest,
        responses={
            202: inline_serializer("ActionStarted", {"action": ActionSerializer()}),
            **errors(409, 503),
        },
    )
    @detail_action(detail=True, methods=["post"])
    def actions(self, request, id=None):
        """Start an action; 409 with the reason when the instance's state does not allow it."""
        instance = self.get_object()
        wanted = ActionRequest(data=request.data, context={"request": request})
        wanted.is_valid(raise_exception=True)
        try:
            started = start_action(instance, wanted.validated_data, request.user)
        except operations.Refused as error:
            raise refused(error) from error
        return Response({"action": ActionSerializer(started).data}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=MigrationLimits, responses={200: MigrationSerializer, **errors(403, 409)}
    )
    @detail_action(detail=True, methods=["post"], url_path="migration")
    def migration(self, request, id=None):
        """Change the running migration's maximum speed or downtime (admins); applied
        within a second. 409 when no migration runs."""
        instance = self.get_object()
        limits = MigrationLimits(data=request.data)
        limits.is_valid(raise_exception=True)
        try:
            running = operations.set_migration_limits(
                instance, request.user, **limits.validated_data
            )
        except operations.Refused as error:
            raise refused(error) from error
        return Response(MigrationSerializer(running).data)

    @extend_schema(request=ConsoleRequest, responses={201: ConsoleGrant, **errors(409)})
    @detail_action(detail=True, methods=["post"])
    def console(self, request, id=None):
        """A one-time token (60 s, single use) to open the instance's VNC or serial console;
        409 with the reason when it has none now."""
        instance = self.get_object()
        wanted = ConsoleRequest(data=request.data)
        wanted.is_valid(raise_exception=True)
        kind, read_only = wanted.validated_data["type"], wanted.validated_data["read_only"]
        try:
            token, grant = consoles.issue(instance, request.user, kind, read_only)
        except consoles.Refused as refusal:
            raise Conflict(refusal.reason) from refusal
        page = "kumo:instance_console" if kind == ConsoleKind.VNC else "kumo:instance_serial"
        body = {
            "url": request.build_absolute_uri(reverse(page, args=[instance.ec2_id])),
            "ws_url": consoles.ws_url(request, token),
            "expires_at": grant.expires_at,
        }
        if kind == ConsoleKind.VNC:
            body["password"] = instance.vnc_password
        return Response(ConsoleGrant(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ConsoleOutputSerializer)
    @detail_action(detail=True, url_path="console-output")
    def console_output(self, request, id=None):
        """The last 64 KiB of the serial console (EC2's GetConsoleOutput), running or not:
        the copy last read from the node; unless it is recent, a fresh read is queued."""
        stored, refreshing = operations.console_output(self.get_object())
        body = {"output": "", "truncated": False, "fetched_at": None, "refreshing": refreshing}
        if stored is not None:
            body.update(
                output=stored.output, truncated=stored.truncated, fetched_at=stored.fetched_at
            )
        return Response(ConsoleOutputSerializer(body).data)

    @extend_schema(
        responses=inline_serializer(
            "Snapshot",
            {
                "name": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
            },
            many=True,
        )
    )
    @detail_action(detail=True, pagination_class=None)
    def snapshots(self, request, id=None):
        """The instance's snapshots, newest first; revert or delete one with an action."""
        rows = self.get_object().snapshots.values("name", "created_at")
        return Response(list(rows))


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("instance", description="Only this instance's (its i- id)."),
            OpenApiParameter("volume", description="Only this volume's (its vol- id)."),
            OpenApiParameter("status", enum=ActionStatus.values),
            OpenApiParameter("action", enum=ActionKind.values),
        ]
    )
)
class ActionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every action the caller may see, newest first;
    ?instance=i-…&volume=vol-…&image=emi-…&status=…&action=…"""

    serializer_class = ActionSerializer
    filters = {  # query parameter: field
        "instance": "instance__ec2_id",
        "volume": "volume__ec2_id",
        "image": "image__ec2_id",
        "status": "status",
        "action": "kind",
    }
    filter_params = list(filters)

    def get_queryset(self):
        visible = Action.objects.for_user(self.request.user)
        actions = visible.select_related("instance", "volume", "volume_snapshot", "owner")
        for param, field in self.filters.items():
            if self.request.query_params.get(param):
                actions = actions.filter(**{field: self.request.query_params[param]})
        return actions
