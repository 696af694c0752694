"""Keypairs API: import a public key or have one generated; list, read and delete.

A keypair's name is unique per owner: `/keypairs/{name}/` is the caller's own keypair of
that name, or with `?owner=USERNAME` another user's (admins, who see every keypair).
"""

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from nodes.api.views import NAME_IN_URL
from nodes.keys import KeyRefused
from nodes.models import Keypair
from nodes.validators import validate_name


class KeypairSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Keypair
        fields = ["name", "owner", "fingerprint", "fingerprint_sha256", "public_key", "created_at"]


class NewKeypairSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63, validators=[validate_name])
    public_key = serializers.CharField(required=False, allow_blank=False, trim_whitespace=True)
    key_type = serializers.ChoiceField(["ed25519", "rsa"], default="ed25519")


OWNER = OpenApiParameter("owner", description="Another user's keypairs (admins).")


@extend_schema_view(
    list=extend_schema(parameters=[OWNER]),
    retrieve=extend_schema(parameters=[OWNER]),
    destroy=extend_schema(parameters=[OWNER]),
)
class KeypairViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = KeypairSerializer
    filter_params = ["owner"]
    lookup_field = "name"
    lookup_value_regex = NAME_IN_URL

    def get_queryset(self):
        keypairs = Keypair.objects.for_user(self.request.user).select_related("owner")
        owner = self.request.query_params.get("owner")
        return keypairs.filter(owner__username=owner) if owner else keypairs

    def get_object(self):
        owner = self.request.query_params.get("owner") or self.request.user.username
        keypair = get_object_or_404(
            self.get_queryset(), owner__username=owner, name=self.kwargs["name"]
        )
        self.check_object_permissions(self.request, keypair)
        return keypair

    def get_serializer_class(self):
        return NewKeypairSerializer if self.action == "create" else KeypairSerializer

    def create(self, request):
        """Import `public_key`, or without one generate a key (`key_type`); the private key is
        in this response only and is never stored."""
        new = NewKeypairSerializer(data=request.data)
        new.is_valid(raise_exception=True)
        data, private = new.validated_data, None
        try:
            with transaction.atomic():
                if data.get("public_key"):
                    keypair = Keypair.import_public(request.user, data["name"], data["public_key"])
                else:
                    keypair, private = Keypair.generate(
                        request.user, data["name"], data["key_type"]
                    )
        except KeyRefused as error:
            raise serializers.ValidationError({"public_key": [str(error)]}) from error
        except IntegrityError as error:
            raise serializers.ValidationError(
                {"name": ["You already have a keypair with this name."]}
            ) from error
        body = KeypairSerializer(keypair).data
        if private:
            body["private_key"] = private
        headers = {"Cache-Control": "no-store"} if private else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)
