"""Read endpoints for the inventory, and the node probe. Visibility is `for_user`."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response

from nodes import operations
from nodes.api import serializers as shapes
from nodes.api.schema import errors

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


class ClusterViewSet(VisibleViewSet):
    serializer_class = shapes.ClusterSerializer
    lookup_field = "name"


class NodeViewSet(VisibleViewSet):
    serializer_class = shapes.NodeSerializer
    lookup_field = "name"

    def get_queryset(self):
        return super().get_queryset().select_related("cluster")

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


class ImageViewSet(VisibleViewSet):
    serializer_class = shapes.ImageSerializer
    lookup_field = "ec2_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        return super().get_queryset().select_related("owner")


class InstanceTypeViewSet(VisibleViewSet):
    serializer_class = shapes.InstanceTypeSerializer
    lookup_field = "name"
