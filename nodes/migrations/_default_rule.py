"""What the data migrations of the default stylesheet's rule share: making it, and bringing
it a new shipped text (Django's loader skips this module: its name starts with an
underscore)."""

import hashlib
from pathlib import Path

SHIPPED_DEFAULT = Path(__file__).resolve().parent.parent / "domainxml" / "default.xsl"


def create_default_rule(apps, schema_editor):
    """The default rule with the shipped text, unless there is one (0008_default_rule, and
    `manage.py restoredefaultrule`)."""
    alias = schema_editor.connection.alias
    Rule = apps.get_model("nodes", "Rule")
    RuleRevision = apps.get_model("nodes", "RuleRevision")
    rule, _ = Rule.objects.using(alias).get_or_create(
        is_default=True,
        defaults={
            "name": "Default stylesheet",
            "position": 0,
            "enabled": True,
            "description": "Kumo's stylesheet from instance.xml to the domain; runs first.",
        },
    )
    if rule.current_id is None:
        latest = RuleRevision.objects.using(alias).filter(rule=rule).order_by("-number").first()
        rule.current = RuleRevision.objects.using(alias).create(
            rule=rule,
            number=latest.number + 1 if latest else 1,
            text=SHIPPED_DEFAULT.read_text(),
            message="Shipped with Kumo",
        )
        rule.save(update_fields=["current"])


def upgrader(previous_sha256, message):
    """A RunPython function: a default rule still at the text whose SHA-256 is
    previous_sha256 gets the shipped text as a new revision; one an admin edited is left
    as it is ("Reset to shipped" on the Rules page brings the rest)."""

    def upgrade(apps, schema_editor):
        alias = schema_editor.connection.alias
        Rule = apps.get_model("nodes", "Rule")
        RuleRevision = apps.get_model("nodes", "RuleRevision")
        rule = Rule.objects.using(alias).filter(is_default=True).select_related("current").first()
        if rule is None or rule.current is None:
            return
        if hashlib.sha256(rule.current.text.encode()).hexdigest() != previous_sha256:
            return
        latest = RuleRevision.objects.using(alias).filter(rule=rule).order_by("-number").first()
        rule.current = RuleRevision.objects.using(alias).create(
            rule=rule, number=latest.number + 1, text=SHIPPED_DEFAULT.read_text(), message=message
        )
        rule.save(update_fields=["current"])

    return upgrade
