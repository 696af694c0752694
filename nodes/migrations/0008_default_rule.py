"""The default stylesheet's rule, made here so that no request has to create it.

Its text is nodes/domainxml/default.xsl as the file is when this migration runs: the text
shipped with the version being installed. A later version's file reaches an existing rule
through the later default-rule migrations or "Reset to shipped". `manage.py
restoredefaultrule` does what this migration does: it recreates a deleted default rule and
leaves an existing one as it is.
"""

from django.db import migrations

from nodes.migrations._default_rule import create_default_rule


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0007_xml_text_validators"),
    ]

    operations = [
        migrations.RunPython(create_default_rule, migrations.RunPython.noop),
    ]
