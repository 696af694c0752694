"""The default stylesheet puts an instance's ISO image (/instance/kumo/cdrom) in a CD-ROM
drive and boots it first: a default rule still at the text shipped by 0013 is given the
shipped text as a new revision; one an admin edited is left as it is."""

from django.db import migrations

from nodes.migrations._default_rule import upgrader

# SHA-256 of nodes/domainxml/default.xsl as 0013_default_rule_volumes shipped it.
PREVIOUS_SHIPPED = "09ab9078a9550ba034b4b7c6f18055bb775cac90e31b727b385ab9970854834c"
boot_cdrom = upgrader(PREVIOUS_SHIPPED, "Shipped with Kumo: an ISO image as a CD-ROM")


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0015_instance_cdrom"),
    ]

    operations = [
        migrations.RunPython(boot_cdrom, migrations.RunPython.noop),
    ]
