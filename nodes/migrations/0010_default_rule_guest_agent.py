"""The default stylesheet gains the QEMU guest agent's channel (Kumo reads guests' addresses
through it) and balloon statistics (the guest's own memory figures): a default rule still at the text shipped before is given the shipped text as a
new revision. A default rule an admin edited is left as it is ("Reset to shipped" on the
Rules page brings the channel, with the rest of the shipped text).
"""

import hashlib
from pathlib import Path

from django.db import migrations

SHIPPED_DEFAULT = Path(__file__).resolve().parent.parent / "domainxml" / "default.xsl"
# SHA-256 of nodes/domainxml/default.xsl as shipped by 0008_default_rule: without the channel
# and the balloon's statistics.
PREVIOUS_SHIPPED = "93165aad61baff9fae328361b8e404e76087de6a75d93b240bfbd37d11e0a2b5"


def is_previous_shipped(text):
    return hashlib.sha256(text.encode()).hexdigest() == PREVIOUS_SHIPPED


def add_guest_agent_channel(apps, schema_editor):
    alias = schema_editor.connection.alias
    Rule = apps.get_model("nodes", "Rule")
    RuleRevision = apps.get_model("nodes", "RuleRevision")
    rule = Rule.objects.using(alias).filter(is_default=True).select_related("current").first()
    if rule is None or rule.current is None or not is_previous_shipped(rule.current.text):
        return
    latest = RuleRevision.objects.using(alias).filter(rule=rule).order_by("-number").first()
    rule.current = RuleRevision.objects.using(alias).create(
        rule=rule,
        number=latest.number + 1,
        text=SHIPPED_DEFAULT.read_text(),
        message="Shipped with Kumo: the QEMU guest agent's channel, balloon statistics",
    )
    rule.save(update_fields=["current"])


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0009_instance_addresses"),
    ]

    operations = [
        migrations.RunPython(add_guest_agent_channel, migrations.RunPython.noop),
    ]
