"""`manage.py restoredefaultrule`: recreate a deleted default stylesheet's rule."""

from types import SimpleNamespace

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection

from nodes.migrations._default_rule import create_default_rule


class Command(BaseCommand):
    help = (
        "Recreate the default stylesheet's rule with the shipped text if it was deleted "
        "(as the migration 0008_default_rule made it); an existing one is left as it is."
    )

    def handle(self, *args, **options):
        create_default_rule(apps, SimpleNamespace(connection=connection))
        self.stdout.write("The default stylesheet's rule is there.")
