"""Volume snapshots: taking one (a flattened copy of a free volume beside it), deleting one,
and making an image of one. Each is a queued action; the runners are in runners.py."""

from django.db import transaction
from django.db.models import Q

from nodes import states
from nodes.choices import ActionKind, ActionStatus, SnapshotStatus
from nodes.models import Action
from nodes.operations import ActionRefused, check_within_quota, queue_action, require_queue
from nodes.operations.images import pending_image, refuse_taken
from nodes.storage.models import VolumeSnapshot
from nodes.storage.volumes import hold_for_reading, refuse_test_driver


def snapshot_volume(volume, user):
    """Start a snapshot of volume (available: no guest writes to it): (the snapshot, the
    action), or ActionRefused; the volume is not attached or deleted until it is done."""
    refuse_test_driver(volume.node)
    require_queue()
    with transaction.atomic():
        hold_for_reading(volume)
        check_within_quota(user, {"volume_gib": volume.size_gib}, "This snapshot")
        snapshot = VolumeSnapshot.objects.create(
            volume=volume,
            volume_ec2_id=volume.ec2_id,
            owner=user,
            node=volume.node,
            size_gib=volume.size_gib,
        )
        action = queue_action(
            None, ActionKind.SNAPSHOT_VOLUME, user, volume=volume, volume_snapshot=snapshot
        )
        return snapshot, action


def delete_snapshot(snapshot, user):
    """Start deleting snapshot (completed, or failed); the action, or ActionRefused while a
    volume or an image is being made of it."""
    require_queue()
    with transaction.atomic():
        VolumeSnapshot.objects.select_for_update().filter(pk=snapshot.pk).first()
        if reader := readers(snapshot).first():
            raise ActionRefused(
                f"{snapshot.ec2_id} is being copied ({reader.get_kind_display().lower()}, "
                f"action {reader.pk}); try again when it is done."
            )
        rows = VolumeSnapshot.objects.filter(pk=snapshot.pk, status__in=states.SNAPSHOT_DELETABLE)
        if not rows.update(status=states.SNAPSHOT_TASK[ActionKind.DELETE_VOLUME_SNAPSHOT]):
            snapshot.refresh_from_db(fields=["status"])
            raise ActionRefused(f"Cannot delete {snapshot.ec2_id} while it is {snapshot.status}.")
        return queue_action(None, ActionKind.DELETE_VOLUME_SNAPSHOT, user, volume_snapshot=snapshot)


def make_image_of_snapshot(snapshot, user, name, properties=None):
    """Start making image `name` of user's from snapshot, with the properties given: (the
    pending image, the action), or Refused."""
    refuse_taken(user, name)
    refuse_test_driver(snapshot.node)
    require_queue()
    with transaction.atomic():
        snapshot = VolumeSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status != SnapshotStatus.COMPLETED:
            raise ActionRefused(f"{snapshot.ec2_id} is {snapshot.status}: not a whole copy.")
        description = f"Made from snapshot {snapshot.ec2_id} of {snapshot.volume_ec2_id}"
        image = pending_image(user, name, description, properties or {})
        action = queue_action(
            None, ActionKind.CREATE_IMAGE, user, image=image, volume_snapshot=snapshot
        )
        return image, action


def readers(snapshot):
    """The unfinished actions copying snapshot (into an image, or a volume)."""
    into_image = Q(volume_snapshot=snapshot, kind=ActionKind.CREATE_IMAGE)
    into_volume = Q(volume__source_snapshot=snapshot, kind=ActionKind.CREATE_VOLUME)
    unfinished = [ActionStatus.QUEUED, ActionStatus.RUNNING]
    return Action.objects.filter(into_image | into_volume, status__in=unfinished)
