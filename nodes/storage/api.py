"""The storage app's API: a node's pools as its last probe listed them (nodes are the
admins': a member gets a 404, as for the node)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from nodes.api.schema import errors
from nodes.models import Node
from nodes.storage.models import StoragePool


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
