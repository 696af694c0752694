"""Rules API: CRUD with revisions, rollback, diffs, and the live preview. Admins only."""

import copy

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from nodes import operations
from nodes.api.schema import errors
from nodes.api.serializers import ByName
from nodes.api.views import QueueDown
from nodes.choices import RuleScope
from nodes.domainxml import pipeline, review
from nodes.domainxml.chain import Stage, compile_problems
from nodes.models import Cluster, Image, Instance, InstanceType, Node, Rule, RuleRevision
from nodes.models.rules import SCOPE_TARGETS, TARGET_IDS, scope_errors


def slug(field, queryset, **kwargs):
    return ByName(slug_field=field, queryset=queryset, required=False, allow_null=True, **kwargs)


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RuleRevision
        fields = ["number", "text", "author", "message", "created_at"]


class RuleText(serializers.CharField):
    """A rule's text: read from its current revision, written as a new one."""

    def get_attribute(self, rule):
        return rule.current.text if rule.current else ""


class RuleSerializer(serializers.ModelSerializer):
    cluster = slug("name", Cluster.objects.all())
    node = slug("name", Node.objects.all())
    image = slug("ec2_id", Image.objects.all())
    instance_type = slug("name", InstanceType.objects.all())
    owner = slug("username", get_user_model().objects.all())
    text = RuleText(trim_whitespace=False, max_length=2_000_000)
    message = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=255
    )
    accept_failures = serializers.BooleanField(
        write_only=True,
        default=False,
        help_text="Save even though the change stops some instances' domain XML rendering.",
    )
    revision = serializers.SerializerMethodField()
    library_slug = serializers.CharField(read_only=True, help_text="Blank unless from the library.")

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "description",
            "scope",
            "cluster",
            "node",
            "image",
            "instance_type",
            "owner",
            "position",
            "enabled",
            "is_default",
            "library_slug",
            "revision",
            "text",
            "message",
            "accept_failures",
            "created_at",
        ]
        read_only_fields = ["is_default"]

    def get_revision(self, rule) -> int | None:
        current = rule.current
        return current.number if current else None

    def validate_text(self, text):
        name = self.initial_data.get("name")  # raw: its own check may refuse it
        problems = compile_problems(Stage(name if isinstance(name, str) else "rule", text))
        if problems:
            raise ValidationError([str(problem) for problem in problems])
        return text

    def validate(self, data):
        scope = data.get("scope", getattr(self.instance, "scope", "global"))
        targets = {f: data.get(f, getattr(self.instance, f, None)) for f in SCOPE_TARGETS.values()}
        errors = scope_errors(scope, targets)
        if errors:
            raise ValidationError(errors)
        data = {**data, **targets}
        refuse_breaking(self.proposed(data), self.context["request"].user, data)
        return data

    def proposed(self, data):
        """The rule as this request would leave it (unsaved), with its text."""
        rule = copy.copy(self.instance) if self.instance else Rule()
        for name, value in data.items():
            if name not in ("text", "message", "accept_failures"):
                setattr(rule, name, value)
        text = data.get("text", self.instance.current.text if self.instance else "")
        return pipeline.Override(rule, text)

    @transaction.atomic
    def create(self, data):
        text, message = data.pop("text"), data.pop("message", "")
        data.pop("accept_failures")
        rule = super().create(data)
        rule.revise(text, self.context["request"].user, message or "Created")
        return rule

    @transaction.atomic
    def update(self, rule, data):
        text, message = data.pop("text", None), data.pop("message", "")
        data.pop("accept_failures", None)
        rule = super().update(rule, data)
        if text is not None:
            rule.revise(text, self.context["request"].user, message)
        return rule


def refuse_breaking(override, user, data):
    """400 when the change stops some instance's domain XML rendering, unless accepted."""
    checked = review.review(override, user)
    if checked.broken and not data.get("accept_failures"):
        raise ValidationError(
            {
                "text": [
                    f"This change breaks {len(checked.broken)} instance(s): their domain XML "
                    "would no longer render. Fix it, or save with accept_failures."
                ],
                "broken": [effect.as_dict() for effect in checked.broken],
            }
        )


NOT_RESET = "Only the default stylesheet is reset to Kumo's; roll another rule back instead."


class AcceptFailures(serializers.Serializer):
    accept_failures = serializers.BooleanField(default=False)


class RollbackSerializer(AcceptFailures):
    revision = serializers.IntegerField(
        min_value=1,
        error_messages={"required": "Give the revision number to roll back to."},
    )


class PreviewSerializer(serializers.Serializer):
    stylesheet = serializers.CharField(trim_whitespace=False, max_length=2_000_000)
    instance = serializers.CharField(required=False, allow_null=True)
    rule = serializers.IntegerField(required=False, allow_null=True)
    position = serializers.IntegerField(
        required=False, min_value=0, help_text="The edited rule's position (default: saved)."
    )
    scope = serializers.ChoiceField(
        RuleScope.choices, required=False, help_text="The edited rule's scope (default: saved)."
    )
    scope_target = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="What the scope names: a cluster, node or instance type name, an emi- id, "
        "a username.",
    )
    against = serializers.ChoiceField(
        [("without", "the chain without this rule"), ("saved", "the saved revision")],
        default="without",
        help_text="What the diff compares with.",
    )
    image = serializers.CharField(required=False, allow_null=True)
    kernel = serializers.CharField(required=False, allow_null=True)
    ramdisk = serializers.CharField(required=False, allow_null=True)
    instance_type = serializers.CharField(required=False, allow_null=True)
    node = serializers.CharField(required=False, allow_null=True)
    user_data = serializers.CharField(required=False, allow_blank=True, max_length=16384)


class ProblemSerializer(serializers.Serializer):
    stage = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class PreviewResultSerializer(serializers.Serializer):
    domain_xml = serializers.CharField()
    errors = ProblemSerializer(many=True)
    warnings = ProblemSerializer(many=True)
    diff = serializers.CharField()


class CheckQueuedSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    node = serializers.CharField()


class CheckResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True)
    message = serializers.CharField()


def revision_of(rule, number):
    """The rule's revision `number` (a string from the request), None when not given."""
    if not number:
        return None
    revision = rule.revisions.filter(number=number).first() if number.isdigit() else None
    if revision is None:
        raise ValidationError({"revision": f"Rule {rule.name} has no revision {number!r}."})
    return revision


def lookup(queryset, field, value, label):
    if not value:
        return None
    found = queryset.filter(**{field: value}).first()
    if found is None:
        raise ValidationError({label: f"No {label.replace('_', ' ')} {value!r}."})
    return found


def preview_instance(request, data):
    """The instance to preview on: a real one by id, or a sample built from the choices."""
    if data.get("instance"):
        rendered = Instance.objects.select_related(*pipeline.RENDERED_RELATED)
        instance = lookup(rendered, "ec2_id", data["instance"], "instance")
        if instance.node is None:
            raise ValidationError({"instance": "This instance has no node yet."})
        return instance
    try:
        return pipeline.sample_instance(
            request.user,
            image=lookup(Image.objects, "ec2_id", data.get("image"), "image"),
            kernel=lookup(Image.objects, "ec2_id", data.get("kernel"), "kernel"),
            ramdisk=lookup(Image.objects, "ec2_id", data.get("ramdisk"), "ramdisk"),
            instance_type=lookup(
                InstanceType.objects, "name", data.get("instance_type"), "instance_type"
            ),
            node=lookup(Node.objects.select_related("cluster"), "name", data.get("node"), "node"),
            **({"user_data": data["user_data"]} if "user_data" in data else {}),
        )
    except LookupError as error:
        raise ValidationError({"instance": str(error)}) from error


def proposed_rule(data):
    """The rule being previewed, as edited: the saved one (or a new one) with the payload's
    position and scope."""
    saved = lookup(
        Rule.objects.select_related(*SCOPE_TARGETS.values()), "pk", data.get("rule"), "rule"
    )
    rule = copy.copy(saved) if saved else Rule(name="New rule")
    if "position" in data:
        rule.position = data["position"]
    if data.get("scope") and not rule.is_default:
        rule.scope = data["scope"]
        field = SCOPE_TARGETS.get(rule.scope)
        targets = {name: None for name in SCOPE_TARGETS.values()}
        if field:
            model = Rule._meta.get_field(field).related_model
            value = data.get("scope_target")
            targets[field] = lookup(model.objects, TARGET_IDS[field], value, "scope_target")
        errors = scope_errors(rule.scope, targets)
        if errors:
            raise ValidationError({"scope_target": list(errors.values())})
        for name, value in targets.items():
            setattr(rule, name, value)
    return rule


@extend_schema_view(
    destroy=extend_schema(
        parameters=[OpenApiParameter("accept_failures", bool)],
        responses={204: None, **errors(400)},
    )
)
class RuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RuleSerializer
    permission_classes = [permissions.IsAdminUser]

    def get_queryset(self):
        related = ["cluster", "node", "image", "instance_type", "owner"]
        return (
            Rule.objects.for_user(self.request.user)
            .select_related(*related)
            .select_related("current")
        )

    def perform_destroy(self, rule):
        """Delete a rule (`?accept_failures=true` when that breaks instances)."""
        if rule.is_default:
            raise ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        "The default stylesheet cannot be deleted; reset it instead."
                    ]
                }
            )
        accepted = AcceptFailures(data=self.request.query_params)
        accepted.is_valid(raise_exception=True)
        refuse_breaking(
            pipeline.Override(rule, without=True), self.request.user, accepted.validated_data
        )
        rule.delete()

    @extend_schema(responses=RevisionSerializer(many=True))
    @action(detail=True, pagination_class=None)
    def revisions(self, request, pk=None):
        return Response(RevisionSerializer(self.get_object().revisions.all(), many=True).data)

    @extend_schema(request=RollbackSerializer, responses={201: RevisionSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        rule = self.get_object()
        wanted = RollbackSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        old = revision_of(rule, str(wanted.validated_data["revision"]))
        refuse_breaking(pipeline.Override(rule, old.text), request.user, wanted.validated_data)
        revision = rule.revise(old.text, request.user, f"Rolled back to r{old.number}")
        return Response(RevisionSerializer(revision).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AcceptFailures, responses={201: RevisionSerializer, **errors(400)})
    @action(detail=True, methods=["post"])
    def reset(self, request, pk=None):
        """The default stylesheet back to the one shipped with Kumo, as a new revision, as
        its page's Reset does (a 400 for any other rule: roll it back instead)."""
        rule = self.get_object()
        if not rule.is_default:
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [NOT_RESET]})
        wanted = AcceptFailures(data=request.data)
        wanted.is_valid(raise_exception=True)
        text = pipeline.shipped_default_text()
        refuse_breaking(pipeline.Override(rule, text), request.user, wanted.validated_data)
        revision = rule.revise(text, request.user, "Reset to shipped")
        return Response(RevisionSerializer(revision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("from", int), OpenApiParameter("to", int)],
        responses={
            200: inline_serializer("RevisionDiff", {"diff": serializers.CharField()}),
            **errors(400),
        },
    )
    @action(detail=True)
    def diff(self, request, pk=None):
        """`?from=N&to=M`: unified diff between two revisions (to defaults to the latest)."""
        rule = self.get_object()
        older = revision_of(rule, request.query_params.get("from", ""))
        newer = revision_of(rule, request.query_params.get("to", "")) or rule.current
        return Response({"diff": newer.diff_from(older)})

    @extend_schema(request=PreviewSerializer, responses=PreviewResultSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """Render `stylesheet` in place of `rule` (or as a new rule) for an instance or a
        sample, and diff against the chain without it. Nothing is saved."""
        # A newer preview of this admin's stops this one: typing outruns rendering.
        _, rendered, difference = previewed(request, key=f"preview-{request.user.pk}")
        return Response(
            {
                "domain_xml": rendered.domain_text,
                "errors": [problem.as_dict() for problem in rendered.outcome.errors],
                "warnings": [problem.as_dict() for problem in rendered.outcome.warnings],
                "diff": difference,
            }
        )

    @extend_schema(request=PreviewSerializer, responses={202: CheckQueuedSerializer, **errors(503)})
    @action(detail=False, methods=["post"])
    def check(self, request):
        """Queue libvirt's own validation of the previewed domain on the node of the instance
        (or sample): the domain is defined under a throw-away name, then undefined. Poll
        `GET /rules/check/{job_id}/` for the outcome."""
        instance, rendered, _ = previewed(request)
        if not rendered.outcome.ok:
            problems = [str(problem) for problem in rendered.outcome.errors]
            raise ValidationError({"stylesheet": problems})
        try:
            job_id = operations.request_definition_check(instance.node, rendered.domain_text)
        except operations.QueueUnavailable as error:
            raise QueueDown(str(error)) from error
        body = {"job_id": job_id, "node": instance.node.name}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: CheckResultSerializer, **errors(503)})
    @action(detail=False, url_path=r"check/(?P<job_id>[A-Za-z0-9-]+)")
    def check_result(self, request, job_id=None):
        """The outcome of a check: `status` (queued, started, finished, failed) and, once
        finished, `ok` and libvirt's `message`."""
        try:
            result = operations.definition_check(job_id)
        except operations.QueueUnavailable as error:
            raise QueueDown(str(error)) from error
        if result is None:
            raise NotFound("No such check (checks are kept for 10 minutes).")
        return Response(result)


def previewed(request, key=None):
    """(instance, Rendered, diff) of the preview a request asks for; a key lets a newer
    render under the same key stop this one."""
    payload = PreviewSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    data = payload.validated_data
    instance = preview_instance(request, data)
    rendered, difference = pipeline.preview(
        instance,
        proposed_rule(data),
        data["stylesheet"],
        data["against"],
        key=key,
    )
    return instance, rendered, difference
