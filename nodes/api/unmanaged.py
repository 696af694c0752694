"""A node's unmanaged domains over the API (admins: members cannot see nodes, so they get a
404): listed as the watcher last found them, adopted as an instance, or ignored, as on the
node's page."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from nodes import operations
from nodes.api.schema import errors
from nodes.api.serializers import ActionSerializer, ByName, InstanceSerializer
from nodes.api.views import refused
from nodes.choices import ImageKind
from nodes.models import Image, InstanceType, Node, UnmanagedDomain


class UnmanagedSerializer(serializers.ModelSerializer):
    class Meta:
        model = UnmanagedDomain
        fields = ["id", "uuid", "name", "power_state", "ignored", "first_seen", "last_seen"]


class AdoptRequest(serializers.Serializer):
    """Who owns the adopted domain, and as what image and type it is counted (AdoptForm's
    choices, by name)."""

    owner = ByName(slug_field="username", queryset=get_user_model().objects.filter(is_active=True))
    image = ByName(
        slug_field="ec2_id", queryset=Image.objects.available().filter(kind=ImageKind.MACHINE)
    )
    instance_type = ByName(slug_field="name", queryset=InstanceType.objects.all())


class UnmanagedViewSet(viewsets.ReadOnlyModelViewSet):
    """/api/v1/nodes/{name}/unmanaged/: the domains of the node that are no instance."""

    serializer_class = UnmanagedSerializer
    pagination_class = None  # what one node runs besides Kumo's instances

    def get_queryset(self):
        user = self.request.user
        node = get_object_or_404(Node.objects.for_user(user), name=self.kwargs["name"])
        return UnmanagedDomain.objects.for_user(user).filter(node=node)

    @extend_schema(
        request=AdoptRequest,
        responses={
            202: inline_serializer(
                "AdoptStarted", {"instance": InstanceSerializer(), "action": ActionSerializer()}
            ),
            **errors(400, 503),
        },
    )
    @action(detail=True, methods=["post"])
    def adopt(self, request, name=None, pk=None):
        """Adopt the domain as an instance of `owner`, counted as `image` and
        `instance_type`; the adopt action (and its pre-adopt hooks) does the rest."""
        unmanaged = self.get_object()
        wanted = AdoptRequest(data=request.data)
        wanted.is_valid(raise_exception=True)
        try:
            instance, started = operations.adopt(request.user, unmanaged, **wanted.validated_data)
        except operations.Refused as error:
            raise refused(error) from error
        body = {
            "instance": InstanceSerializer(instance).data,
            "action": ActionSerializer(started).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: UnmanagedSerializer})
    @action(detail=True, methods=["post"])
    def ignore(self, request, name=None, pk=None):
        """Leave the domain on the node, untouched, and stop listing it as to adopt."""
        unmanaged = self.get_object()
        unmanaged.ignored = True
        unmanaged.save(update_fields=["ignored"])
        return Response(UnmanagedSerializer(unmanaged).data)
