"""The default stylesheet renders attached volumes (/instance/volumes/volume/diskPath) as
disks: a default rule still at the text shipped by 0010 is given the shipped text as a new
revision; one an admin edited is left as it is (its instances get no volume disks until it
renders them, or "Reset to shipped")."""

from django.db import migrations

from nodes.migrations._default_rule import upgrader

# SHA-256 of nodes/domainxml/default.xsl as 0010_default_rule_guest_agent shipped it.
PREVIOUS_SHIPPED = "2709eb2c4b398349a4c0d43dfd329041a4f8cd149700210e11eaf260acca8356"
render_volumes = upgrader(PREVIOUS_SHIPPED, "Shipped with Kumo: attached volumes as disks")


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0012_volumes"),
    ]

    operations = [
        migrations.RunPython(render_volumes, migrations.RunPython.noop),
    ]
