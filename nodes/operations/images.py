"""Making a machine image of a stopped instance's root disk: the pending image, its claim on
the instance and the action that fills it (runners.create_image)."""

from django.conf import settings
from django.db import transaction

from nodes import states
from nodes.choices import ActionKind, DomainType, ImageFormat, ImageKind, ImageStatus
from nodes.ids import new_ec2_id
from nodes.models import Image
from nodes.operations.actions import claim, queue_action
from nodes.operations.errors import ActionRefused, Refused
from nodes.operations.queue import require_queue


def make_image(instance, user, name):
    """Start making image `name` of user's (private until an admin makes it public) from
    instance's root disk: (the pending image, the action), or Refused with nothing written."""
    if Image.objects.filter(owner=user, name=name).exists():
        raise Refused(f"You already have an image named {name}.", field="name")
    if instance.node_id and instance.node.domain_type == DomainType.TEST:
        raise ActionRefused("libvirt's test driver keeps no disks: there is nothing to copy.")
    require_queue()
    with transaction.atomic():
        if not claim(instance, ActionKind.CREATE_IMAGE):
            instance.refresh_from_db(fields=["vm_state", "task_state"])
            raise ActionRefused(states.refusal(instance, ActionKind.CREATE_IMAGE))
        image = pending_image(instance, user, name)
        return image, queue_action(instance, ActionKind.CREATE_IMAGE, user, image=image)


def pending_image(instance, user, name):
    source = instance.image
    ec2_id = new_ec2_id("emi", Image)
    return Image.objects.create(
        ec2_id=ec2_id,
        kind=ImageKind.MACHINE,
        name=name,
        description=f"Made from {instance.ec2_id}'s disk (image {source.ec2_id})",
        format=ImageFormat.QCOW2,
        location=str(settings.KUMO_IMAGES_DIR / f"{ec2_id}.qcow2"),
        owner=user,
        status=ImageStatus.PENDING,
        **{field: getattr(source, field) for field in Image.PROPERTIES},
    )
