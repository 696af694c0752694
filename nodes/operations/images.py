"""Making a machine image of a stopped instance's root disk: the pending image, its claim on
the instance and the action that fills it (runners.create_image)."""

from django.conf import settings
from django.db import IntegrityError, transaction

from nodes import states
from nodes.choices import (
    IMAGE_ID_PREFIX,
    ActionKind,
    DomainType,
    ImageFormat,
    ImageKind,
    ImageStatus,
)
from nodes.ids import new_ec2_id
from nodes.models import Image
from nodes.operations.actions import claim, queue_action
from nodes.operations.errors import ActionRefused, Refused
from nodes.operations.queue import require_queue


def make_image(instance, user, name):
    """Start making image `name` of user's (private until an admin makes it public) from
    instance's root disk: (the pending image, the action), or Refused with nothing written."""
    taken = Refused(f"You already have an image named {name}.", field="name")
    if Image.objects.filter(owner=user, name=name).exists():
        raise taken
    refuse_disks_kumo_did_not_make(instance)
    require_queue()
    with transaction.atomic():
        if not claim(instance, ActionKind.CREATE_IMAGE):
            instance.refresh_from_db(fields=["vm_state", "task_state"])
            raise ActionRefused(states.refusal(instance, ActionKind.CREATE_IMAGE))
        try:
            with transaction.atomic():
                image = pending_image(instance, user, name)
        except IntegrityError:  # the same name asked for twice at once
            raise taken from None
        return image, queue_action(instance, ActionKind.CREATE_IMAGE, user, image=image)


def refuse_disks_kumo_did_not_make(instance):
    if instance.node_id and instance.node.domain_type == DomainType.TEST:
        raise ActionRefused("libvirt's test driver keeps no disks: there is nothing to copy.")
    if instance.actions.filter(kind=ActionKind.ADOPT).exists():
        raise ActionRefused(
            f"{instance.ec2_id} was adopted: its disks are not where Kumo keeps an instance's."
        )


def pending_image(instance, user, name):
    source = instance.image
    ec2_id = new_ec2_id(IMAGE_ID_PREFIX[ImageKind.MACHINE], Image)
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
