"""The diagnostics API: GET the copy last read from the node, POST to ask for a fresh one.
What a user may see comes from for_user (another member's instance is a 404)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from nodes import operations
from nodes.api.schema import errors
from nodes.api.views import refused
from nodes.metrics.diagnostics import last_copy, request_diagnostics
from nodes.models import Instance


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
