"""Print the domain XML the chain makes of an instance, as xsltproc would: exit 0 with the
XML, or exit 1 with each error and its line and column."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from nodes.domainxml import pipeline
from nodes.management.commands._instances import add_instance_arguments, chosen_instance


class Command(BaseCommand):
    help = "Render the domain XML of an instance (i-XXXXXXXX) or of --sample."

    def add_arguments(self, parser):
        add_instance_arguments(parser)
        parser.add_argument(
            "--stylesheet", type=Path, help="use this file instead of the default stylesheet"
        )
        parser.add_argument("--no-rules", action="store_true", help="apply no rule after it")

    def handle(self, *args, **options):
        instance = chosen_instance(options)
        override = None
        if options["stylesheet"]:
            try:
                text = options["stylesheet"].read_text()
            except OSError as error:
                raise CommandError(f"Cannot read {options['stylesheet']}: {error}") from error
            override = pipeline.Override(pipeline.default_rule(), text)
        rendered = pipeline.render(instance, override, with_rules=not options["no_rules"])
        for warning in rendered.outcome.warnings:
            self.stderr.write(f"warning: {warning}")
        if not rendered.outcome.ok:
            for error in rendered.outcome.errors:
                self.stderr.write(f"error: {error}")
            sys.exit(1)
        self.stdout.write(rendered.domain_text, ending="")
