"""Keypairs API: the caller's own keypairs; import a public key or have one generated."""

from django.db import IntegrityError, transaction
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

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


class KeypairViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = KeypairSerializer
    lookup_field = "name"

    def get_queryset(self):
        return Keypair.objects.filter(owner_id=self.request.user.pk).select_related("owner")

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
