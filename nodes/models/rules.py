"""Customization rules: the stylesheets of the domain XML chain, with their revisions."""

import difflib

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse

from nodes.choices import RuleScope
from nodes.domainxml import library
from nodes.querysets import VisibleQuerySet
from nodes.validators import validate_xml_text

SCOPE_TARGETS = {
    RuleScope.CLUSTER: "cluster",
    RuleScope.NODE: "node",
    RuleScope.IMAGE: "image",
    RuleScope.INSTANCE_TYPE: "instance_type",
    RuleScope.OWNER: "owner",
}


# How pages and the API name each scope's target: by the id the UI shows.
TARGET_IDS = {
    "cluster": "name",
    "node": "name",
    "image": "ec2_id",
    "instance_type": "name",
    "owner": "username",
}


def scope_condition():
    """Exactly the target field of the scope is set (none for global)."""
    alternatives = Q(
        scope=RuleScope.GLOBAL, **{f"{f}__isnull": True for f in SCOPE_TARGETS.values()}
    )
    for scope, target in SCOPE_TARGETS.items():
        others = {f"{f}__isnull": True for f in SCOPE_TARGETS.values() if f != target}
        alternatives |= Q(scope=scope, **{f"{target}__isnull": False}, **others)
    return alternatives


def scope_errors(scope, targets):
    """Check a scope against its targets ({field: object or None}): returns field errors for
    a missing target, and sets the targets the scope does not use to None."""
    wanted = SCOPE_TARGETS.get(scope)
    errors = {}
    for field in SCOPE_TARGETS.values():
        if field == wanted and targets.get(field) is None:
            errors[field] = f"Choose the {field.replace('_', ' ')} this rule is for."
        elif field != wanted:
            targets[field] = None
    return errors


class Rule(models.Model):
    """A stylesheet applied to the domain XML after the default one, where its scope matches.

    The default stylesheet itself is the one rule with is_default: it is always applied
    first, to instance.xml, whatever its scope and position.
    """

    MEMBER_VISIBILITY = "none"

    name = models.CharField(max_length=100, unique=True, validators=[validate_xml_text])
    description = models.TextField(blank=True, validators=[validate_xml_text])
    scope = models.CharField(max_length=16, choices=RuleScope, default=RuleScope.GLOBAL)
    cluster = models.ForeignKey("nodes.Cluster", on_delete=models.CASCADE, null=True, blank=True)
    node = models.ForeignKey("nodes.Node", on_delete=models.CASCADE, null=True, blank=True)
    image = models.ForeignKey("nodes.Image", on_delete=models.CASCADE, null=True, blank=True)
    instance_type = models.ForeignKey(
        "nodes.InstanceType", on_delete=models.CASCADE, null=True, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.PositiveIntegerField(default=100, help_text="Lower runs earlier.")
    enabled = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False, editable=False)
    library_slug = models.SlugField(blank=True, editable=False)
    current = models.ForeignKey(
        "nodes.RuleRevision",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="The latest revision: the rule's text.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-is_default", "position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=RuleScope.values), name="rule_scope_valid"
            ),
            models.CheckConstraint(
                condition=scope_condition(),
                name="rule_scope_has_its_target",
                violation_error_message="Choose the one object the scope names, and only it.",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="rule_one_default"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("kumo:rule_edit", args=[self.pk])

    @property
    def target(self):
        field = SCOPE_TARGETS.get(self.scope)
        return getattr(self, field) if field else None

    def applies_to(self, instance):
        """Does this rule's scope cover the instance (saved or not)?"""
        field = SCOPE_TARGETS.get(self.scope)
        if field is None:
            return True
        return getattr(self, f"{field}_id") == getattr(instance, f"{field}_id")

    @classmethod
    def from_library(cls, entry):
        """A new, unsaved, enabled rule for the library rule entry (save it with
        add_from_library)."""
        return cls(
            name=entry.title, description=entry.explanation, library_slug=entry.slug, enabled=True
        )

    @transaction.atomic
    def add_from_library(self, author):
        """Save a rule made by from_library, its library text as its first revision."""
        self.save()
        self.revise(library.get(self.library_slug).text, author, "From Kumo's rule library")

    @transaction.atomic
    def revise(self, text, author, message=""):
        """Record text as the rule's next revision, unless it is the current text."""
        Rule.objects.select_for_update().filter(pk=self.pk).first()  # one revision at a time
        latest = self.revisions.order_by("-number").first()
        if latest and latest.text == text:
            return latest
        self.current = self.revisions.create(
            number=(latest.number + 1) if latest else 1,
            text=text,
            author=author,
            message=message,
        )
        self.save(update_fields=["current"])
        return self.current


class RuleRevision(models.Model):
    """One saved text of a rule. Revisions are never changed; a rollback adds one."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    message = models.CharField(max_length=255, blank=True, validators=[validate_xml_text])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="rule_revision_number_unique"),
        ]

    def __str__(self):
        return f"{self.rule} r{self.number}"

    def diff_from(self, older):
        """Unified diff from an older revision (or none) to this one."""
        before = older.text if older else ""
        label = f"r{older.number}" if older else "empty"
        return unified_diff(before, self.text, label, f"r{self.number}")


def unified_diff(before, after, before_label, after_label):
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        before_label,
        after_label,
    )
    return "".join(lines)
