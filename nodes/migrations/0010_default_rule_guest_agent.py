"""The default stylesheet gains the QEMU guest agent's channel (Kumo reads guests' addresses
through it) and balloon statistics (the guest's own memory figures): a default rule still at
the text shipped before is given the shipped text as a new revision. A default rule an admin
edited is left as it is ("Reset to shipped" on the Rules page brings the channel, with the
rest of the shipped text).
"""

from django.db import migrations

from nodes.migrations._default_rule import upgrader

# SHA-256 of nodes/domainxml/default.xsl as shipped by 0008_default_rule: without the channel
# and the balloon's statistics.
PREVIOUS_SHIPPED = "93165aad61baff9fae328361b8e404e76087de6a75d93b240bfbd37d11e0a2b5"
add_guest_agent_channel = upgrader(
    PREVIOUS_SHIPPED, "Shipped with Kumo: the QEMU guest agent's channel, balloon statistics"
)


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0009_instance_addresses"),
    ]

    operations = [
        migrations.RunPython(add_guest_agent_channel, migrations.RunPython.noop),
    ]
