"""The metrics app's API: an instance's or a node's consolidated series, read from the
history, and an instance's diagnostics (GET the copy last read, POST to ask for a fresh one).
What a user may see comes from for_user (another member's instance is a 404)."""

import time

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from nodes import operations
from nodes.api.schema import errors
from nodes.api.views import refused
from nodes.metrics import history
from nodes.metrics.diagnostics import last_copy, request_diagnostics
from nodes.metrics.models import Reading
from nodes.metrics.series import (
    INSTANCE_SERIES,
    NODE_SERIES,
    TIMEFRAMES,
    Consolidation,
    Subject,
)
from nodes.models import Instance, Node


def choice(name, choices, default):
    allowed = ", ".join(choices)
    return serializers.ChoiceField(
        choices=choices,
        default=default,
        error_messages={"invalid_choice": f'"{{input}}" is not a {name}: use one of {allowed}.'},
    )


class MetricsQuery(serializers.Serializer):
    timeframe = choice("timeframe", list(TIMEFRAMES), "hour")
    cf = choice("consolidation function", Consolidation.values, Consolidation.AVERAGE)


class MetricsSerializer(serializers.Serializer):
    timeframe = serializers.CharField()
    cf = serializers.CharField()
    step = serializers.IntegerField(help_text="Seconds between two points.")
    series = serializers.DictField(
        child=serializers.ListField(child=serializers.ListField()),
        help_text="Series name → [[unix time, value or null], …]; null is a gap.",
    )
    memory_source = serializers.CharField(
        allow_null=True,
        help_text='"balloon" (the guest\'s own figure), "rss" (the host process), or null.',
    )


def answer(request, kind, subject_id, names):
    query = MetricsQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    timeframe, cf = query.validated_data["timeframe"], query.validated_data["cf"]
    body = history.series(kind, subject_id, names, timeframe, cf, time.time())
    latest = Reading.objects.filter(kind=kind, subject_id=subject_id).values_list(
        "figures", flat=True
    )
    body["memory_source"] = next(iter(latest), {}).get("memory_source")
    return Response(body)


PARAMETERS = [
    OpenApiParameter("timeframe", enum=list(TIMEFRAMES), default="hour"),
    OpenApiParameter("cf", enum=Consolidation.values, default=Consolidation.AVERAGE),
]


class InstanceMetrics(APIView):
    @extend_schema(parameters=PARAMETERS, responses={200: MetricsSerializer, **errors(400, 404)})
    def get(self, request, id):
        """An instance's series over a timeframe; a member sees their own instances'."""
        instance = get_object_or_404(Instance.objects.for_user(request.user), ec2_id=id)
        return answer(request, Subject.INSTANCE, instance.pk, INSTANCE_SERIES)


class NodeMetrics(APIView):
    @extend_schema(parameters=PARAMETERS, responses={200: MetricsSerializer, **errors(400, 404)})
    def get(self, request, name):
        """A node's series over a timeframe, with the load of its instances."""
        node = get_object_or_404(Node.objects.for_user(request.user), name=name)
        return answer(request, Subject.NODE, node.pk, NODE_SERIES)


def counter(help_text):
    return serializers.IntegerField(allow_null=True, help_text=help_text)


class VcpuDiagnosticsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField(help_text="running, blocked or offline")
    time_ns = serializers.IntegerField(help_text="CPU time used since the domain started.")
    cpu = serializers.IntegerField(help_text="The host CPU it last ran on.")


class MemoryDiagnosticsSerializer(serializers.Serializer):
    maximum_kib = serializers.IntegerField()
    current_kib = serializers.IntegerField(help_text="The balloon's size: what the guest has.")
    used_kib = counter("What the guest uses (available − unused); null unless it reports.")
    guest_reports = serializers.BooleanField(
        help_text="The guest's balloon driver reports its memory figures."
    )
    balloon = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="memoryStats as libvirt names it: KiB, but for the fault counts and "
        "last_update (seconds).",
    )


class DiskDiagnosticsSerializer(serializers.Serializer):
    target = serializers.CharField(allow_null=True)
    device = serializers.CharField(help_text="disk, cdrom, floppy or lun")
    bus = serializers.CharField(allow_null=True)
    path = serializers.CharField(allow_null=True, help_text="Its file, device or volume.")
    capacity = counter("Bytes the guest sees.")
    allocation = counter("Bytes allocated on the host.")
    physical = counter("Bytes of the file or device on the host.")
    read_bytes = counter("Bytes read since the domain started.")
    read_requests = counter("Read requests since the domain started.")
    write_bytes = counter("Bytes written since the domain started.")
    write_requests = counter("Write requests since the domain started.")
    errors_count = counter("I/O errors, where the driver counts them.")


class NicDiagnosticsSerializer(serializers.Serializer):
    mac_address = serializers.CharField(allow_null=True)
    target = serializers.CharField(allow_null=True, help_text="The host-side device.")
    type = serializers.CharField(allow_null=True, help_text="network, bridge, direct, user…")
    source = serializers.CharField(allow_null=True, help_text="Its network, bridge or device.")
    model = serializers.CharField(allow_null=True)
    rx_octets = counter("Bytes received since the domain started.")
    rx_packets = counter("Packets received.")
    rx_errors = counter("Receive errors.")
    rx_drop = counter("Received packets dropped.")
    tx_octets = counter("Bytes sent since the domain started.")
    tx_packets = counter("Packets sent.")
    tx_errors = counter("Send errors.")
    tx_drop = counter("Packets to send dropped.")


class DiagnosticsSerializer(serializers.Serializer):
    """The copy last read (no figures before the first read) and where its read stands."""

    taken_at = serializers.DateTimeField(allow_null=True, help_text="When the copy was read.")
    requested_at = serializers.DateTimeField(
        allow_null=True, help_text="When a read was last asked for."
    )
    waiting = serializers.BooleanField(help_text="A read is under way: ask again.")
    error = serializers.CharField(
        allow_blank=True, help_text="Why the last read failed; the copy before it stays."
    )
    state = serializers.CharField(required=False, help_text="The domain's state when read.")
    driver = serializers.CharField(required=False)
    hypervisor = serializers.CharField(required=False, help_text="The domain type: kvm, qemu…")
    uptime = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Seconds since Kumo last booted it, when read; null when Kumo cannot say.",
    )
    booted_at = serializers.DateTimeField(required=False, allow_null=True)
    num_cpus = serializers.IntegerField(required=False)
    num_disks = serializers.IntegerField(required=False)
    num_nics = serializers.IntegerField(required=False)
    cpu_details = VcpuDiagnosticsSerializer(many=True, required=False)
    memory_details = MemoryDiagnosticsSerializer(required=False)
    disk_details = DiskDiagnosticsSerializer(many=True, required=False)
    nic_details = NicDiagnosticsSerializer(many=True, required=False)


def represented(diagnostics):
    fields = {
        "taken_at": diagnostics.taken_at,
        "requested_at": diagnostics.requested_at,
        "waiting": diagnostics.waiting,
        "error": diagnostics.error,
    }
    return DiagnosticsSerializer({**diagnostics.data, **fields}).data


class InstanceDiagnostics(generics.GenericAPIView):
    serializer_class = DiagnosticsSerializer
    lookup_field = "ec2_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        return Instance.objects.for_user(self.request.user)

    def get(self, request, id):
        """The diagnostics last read from the instance's node (`taken_at` null before the
        first read); reading them never calls the node. POST asks for a fresh read."""
        return Response(represented(last_copy(self.get_object())))

    @extend_schema(request=None, responses={202: DiagnosticsSerializer, **errors(409, 503)})
    def post(self, request, id):
        """Queue a fresh read from the node; 409 when the instance is not running. GET
        until `waiting` is false: `taken_at` is then newer, or `error` says why not."""
        try:
            diagnostics = request_diagnostics(self.get_object())
        except operations.Refused as error:
            raise refused(error) from error
        return Response(represented(diagnostics), status=status.HTTP_202_ACCEPTED)
