"""Making a machine image of a stopped instance's root disk: the pending image, its claim on
the instance and the action that fills it (runners.create_image); the storage app makes
images of volumes with the same pending image."""

from pathlib import Path

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


def make_image(instance, user, name, properties=None):
    """Start making image `name` of user's (private until an admin makes it public) from
    instance's root disk, with the properties of its image but those given: (the pending
    image, the action), or Refused with nothing written."""
    refuse_taken(user, name)
    refuse_disks_kumo_did_not_make(instance)
    require_queue()
    source = instance.image
    inherited = {field: getattr(source, field) for field in Image.PROPERTIES}
    description = f"Made from {instance.ec2_id}'s disk (image {source.ec2_id})"
    with transaction.atomic():
        if not claim(instance, ActionKind.CREATE_IMAGE):
            instance.refresh_from_db(fields=["vm_state", "task_state"])
            raise ActionRefused(states.refusal(instance, ActionKind.CREATE_IMAGE))
        image = pending_image(user, name, description, inherited | (properties or {}))
        return image, queue_action(instance, ActionKind.CREATE_IMAGE, user, image=image)


def image_file(ec2_id, image_format):
    """Where Kumo keeps the file of an image it writes (made, imported or uploaded)."""
    return settings.KUMO_IMAGES_DIR / f"{ec2_id}.{image_format}"


def upload_image(image, uploaded_path):
    """Register image, new and unsaved, its fields from the image form, with the file
    uploaded to uploaded_path (in KUMO_IMAGES_DIR) as its own."""
    image.ec2_id = new_ec2_id(IMAGE_ID_PREFIX[image.kind], Image)
    image.location = str(image_file(image.ec2_id, image.format))
    Path(uploaded_path).rename(image.location)
    try:
        saved_once(image)
    except BaseException:
        Path(image.location).unlink(missing_ok=True)
        raise
    return image


def import_image(image, url, user):
    """Start downloading url into image, new and unsaved, its fields from the image form:
    the pending image, and the action that fills it (downloads.import_image)."""
    require_queue()
    image.ec2_id = new_ec2_id(IMAGE_ID_PREFIX[image.kind], Image)
    image.status = ImageStatus.PENDING
    image.location = str(image_file(image.ec2_id, image.format))
    with transaction.atomic():
        saved_once(image)
        return queue_action(None, ActionKind.IMPORT_IMAGE, user, image=image, params={"url": url})


def saved_once(image):
    """Save the new image; Refused when its owner has one of its name (asked twice at once:
    the form's check came before both)."""
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        raise name_taken(image.name) from None


def refuse_taken(user, name):
    if Image.objects.filter(owner=user, name=name).exists():
        raise name_taken(name)


def name_taken(name):
    return Refused(f"You already have an image named {name}.", field="name")


def refuse_disks_kumo_did_not_make(instance):
    if instance.node_id and instance.node.domain_type == DomainType.TEST:
        raise ActionRefused("libvirt's test driver keeps no disks: there is nothing to copy.")
    if instance.actions.filter(kind=ActionKind.ADOPT).exists():
        raise ActionRefused(
            f"{instance.ec2_id} was adopted: its disks are not where Kumo keeps an instance's."
        )


def pending_image(user, name, description, properties):
    ec2_id = new_ec2_id(IMAGE_ID_PREFIX[ImageKind.MACHINE], Image)
    try:
        with transaction.atomic():
            return Image.objects.create(
                ec2_id=ec2_id,
                kind=ImageKind.MACHINE,
                name=name,
                description=description,
                format=ImageFormat.QCOW2,
                location=str(image_file(ec2_id, ImageFormat.QCOW2)),
                owner=user,
                status=ImageStatus.PENDING,
                **properties,
            )
    except IntegrityError:  # the same name asked for twice at once
        raise name_taken(name) from None
