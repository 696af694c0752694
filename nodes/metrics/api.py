"""The metrics API: a consolidated series of an instance or a node, read from the history."""

import time

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from nodes.api.schema import errors
from nodes.metrics import history
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
