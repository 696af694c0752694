"""The default stylesheet renders an instance's tuning (/instance/kumo/tuning): its CPU
weight and cap as <cputune>, its memory and vCPUs now as <currentMemory> and <vcpu current>:
a default rule still at the text shipped by 0016 is given the shipped text as a new revision;
one an admin edited is left as it is."""

from django.db import migrations

from nodes.migrations._default_rule import upgrader

# SHA-256 of nodes/domainxml/default.xsl as 0016_default_rule_cdrom shipped it.
PREVIOUS_SHIPPED = "851d0043d04b337a6506170efa4f1786aa1a91a69f5774618ee375ccd9891b2f"
render_tuning = upgrader(PREVIOUS_SHIPPED, "Shipped with Kumo: the instance's tuning")


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0017_tuning_and_migration"),
    ]

    operations = [
        migrations.RunPython(render_tuning, migrations.RunPython.noop),
    ]
