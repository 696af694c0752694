"""The default stylesheet's rule, made here so that no request has to create it.

Its text is nodes/domainxml/default.xsl as the file is when this migration runs: the text
shipped with the version being installed. A later version's file reaches an existing rule
only through "Reset to shipped". Running the migration again (`manage.py migrate nodes
0007_xml_text_validators`, then `manage.py migrate nodes`) recreates a deleted default rule
and leaves an existing one as it is.
"""

from pathlib import Path

from django.db import migrations

SHIPPED_DEFAULT = Path(__file__).resolve().parent.parent / "domainxml" / "default.xsl"


def create_default_rule(apps, schema_editor):
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


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0007_xml_text_validators"),
    ]

    operations = [
        migrations.RunPython(create_default_rule, migrations.RunPython.noop),
    ]
