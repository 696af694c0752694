"""Quota API: the caller's limits and usage; admins read and set anyone's."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from nodes.models import Quota
from nodes.models.quotas import usage


class LimitsSerializer(serializers.ModelSerializer):
    class Meta:
        model = Quota
        fields = ["instances", "vcpus", "ram_mb", "volumes", "volume_gib"]


def described(user):
    quota = Quota.of(user)
    return {
        "username": user.username,
        "limited": not user.is_staff,
        "override": quota.user_id == user.pk,
        "limits": quota.limits(),
        "usage": usage(user),
    }


QUOTA = inline_serializer(
    "Quota",
    {
        "username": serializers.CharField(),
        "limited": serializers.BooleanField(),
        "override": serializers.BooleanField(),
        "limits": LimitsSerializer(),
        "usage": LimitsSerializer(),
    },
)


class MyQuota(APIView):
    @extend_schema(responses=QUOTA)
    def get(self, request):
        """Your limits (admins are not limited) and what your live instances use."""
        return Response(described(request.user))


class UserQuota(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(responses=QUOTA)
    def get(self, request, username):
        return Response(described(get_object_or_404(get_user_model(), username=username)))

    @extend_schema(request=LimitsSerializer, responses=QUOTA)
    def patch(self, request, username):
        """Set the user's own limits (an override of the defaults)."""
        user = get_object_or_404(get_user_model(), username=username)
        quota = Quota.objects.filter(user=user).first() or Quota(
            user=user, **Quota.defaults().limits()
        )
        limits = LimitsSerializer(quota, data=request.data, partial=True)
        limits.is_valid(raise_exception=True)
        limits.save()
        return Response(described(user))

    @extend_schema(responses={200: QUOTA})
    def delete(self, request, username):
        """Drop the user's own limits: the defaults apply again."""
        user = get_object_or_404(get_user_model(), username=username)
        Quota.objects.filter(user=user).delete()
        return Response(described(user))


class DefaultQuota(APIView):
    """The limits of every member without limits of their own."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(responses=LimitsSerializer)
    def get(self, request):
        return Response(LimitsSerializer(Quota.defaults()).data)

    @extend_schema(request=LimitsSerializer, responses=LimitsSerializer)
    def patch(self, request):
        limits = LimitsSerializer(Quota.defaults(), data=request.data, partial=True)
        limits.is_valid(raise_exception=True)
        limits.save()
        return Response(limits.data)
