"""Print an instance's instance.xml, the input of the stylesheet chain."""

from django.core.management.base import BaseCommand, CommandError

from nodes.domainxml import pipeline
from nodes.management.commands._instances import add_instance_arguments, chosen_instance


class Command(BaseCommand):
    help = "Print instance.xml for an instance (i-XXXXXXXX) or for --sample."

    def add_arguments(self, parser):
        add_instance_arguments(parser)

    def handle(self, *args, **options):
        try:
            xml = pipeline.instance_xml(chosen_instance(options))
        except ValueError as error:  # data saved before the door checked it
            raise CommandError(f"instance.xml cannot be built: {error}") from error
        self.stdout.write(xml.decode(), ending="")
