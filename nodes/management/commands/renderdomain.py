"""Print the domain XML the chain makes of an instance, as xsltproc would: exit 0 with the
XML, or exit 1 with each error and its line and column. With --check, libvirt on the
instance's node validates the result too (a command may talk to libvirt; pages never do)."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from nodes.domainxml import pipeline
from nodes.libvirt import NodeError, check_definition
from nodes.management.commands._instances import add_instance_arguments, chosen_instance


class Command(BaseCommand):
    help = "Render the domain XML of an instance (i-XXXXXXXX) or of --sample."

    def add_arguments(self, parser):
        add_instance_arguments(parser)
        parser.add_argument(
            "--stylesheet", type=Path, help="use this file instead of the default stylesheet"
        )
        parser.add_argument("--no-rules", action="store_true", help="apply no rule after it")
        parser.add_argument(
            "--check",
            action="store_true",
            help="also have libvirt on the instance's node validate the domain (defined under "
            "a throw-away name, then undefined)",
        )

    def handle(self, *args, **options):
        instance = chosen_instance(options)
        override = None
        if options["stylesheet"]:
            try:
                text = options["stylesheet"].read_text()
            except OSError as error:
                raise CommandError(f"Cannot read {options['stylesheet']}: {error}") from error
            try:
                override = pipeline.Override(pipeline.default_rule(), text)
            except pipeline.MissingDefaultRule as error:
                raise CommandError(str(error)) from error
        rendered = pipeline.render(instance, override, with_rules=not options["no_rules"])
        for warning in rendered.outcome.warnings:
            self.stderr.write(f"warning: {warning}")
        if not rendered.outcome.ok:
            for error in rendered.outcome.errors:
                self.stderr.write(f"error: {error}")
            sys.exit(1)
        if options["check"]:
            self.check_on_node(instance.node, rendered.domain_text)
        self.stdout.write(rendered.domain_text, ending="")

    def check_on_node(self, node, domain_xml):
        try:
            check_definition(node.endpoint(), domain_xml, settings.KUMO_PROBE_TIMEOUT)
        except NodeError as error:
            self.stderr.write(f"error: libvirt on {node.name} refuses the domain: {error}")
            sys.exit(1)
        self.stderr.write(f"libvirt on {node.name} accepts the domain.")
