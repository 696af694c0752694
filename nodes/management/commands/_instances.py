"""What the instancexml and renderdomain commands share: which instance to describe."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from nodes.domainxml import pipeline
from nodes.models import Instance


def add_instance_arguments(parser):
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("instance", nargs="?", help="an instance id, i-XXXXXXXX")
    which.add_argument(
        "--sample", action="store_true", help="a synthetic instance on the demo images"
    )


def chosen_instance(options):
    if options["sample"]:
        owner = get_user_model().objects.filter(is_staff=True).first()
        try:
            return pipeline.sample_instance(owner or get_user_model()(username="sample"))
        except LookupError as error:
            raise CommandError(f"{error} Run manage.py seeddemo first.") from error
    rendered = Instance.objects.select_related(*pipeline.RENDERED_RELATED)
    instance = rendered.filter(ec2_id=options["instance"]).first()
    if instance is None:
        raise CommandError(f"No instance {options['instance']}.")
    if instance.node is None:
        raise CommandError(f"{instance.ec2_id} has no node yet: its domain depends on it.")
    return instance
