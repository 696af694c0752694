"""Volumes: creating, attaching, detaching and deleting them. Each is a queued action whose
claim is a compare-and-set on the volume's status (states.VOLUME_FROM → VOLUME_TASK) and,
for attach and detach, on its instance's task as for any instance action (DESIGN.md §4).
The runners are nodes/storage/runners.py."""

import math

from django.db import transaction

from nodes import states
from nodes.choices import (
    ActionKind,
    ActionStatus,
    DomainType,
    SnapshotStatus,
    VmState,
    VolumeStatus,
)
from nodes.models import Instance, Node
from nodes.operations import (
    ActionRefused,
    LaunchInvalid,
    NoRoom,
    check_within_quota,
    claim,
    launch,
    queue_action,
    require_queue,
)
from nodes.operations.images import pending_image, refuse_taken
from nodes.storage.models import GIB, WITH_INSTANCE, Volume, VolumeSnapshot
from nodes.storage.pools import lacks_room

# vda is the root disk and vdb the ephemeral one; the config drive is on another bus (hdc).
DEVICE_NAMES = [f"vd{letter}" for letter in "cdefghijklmnopqrstuvwxyz"]
MAX_AT_LAUNCH = 8


def nodes_for_volumes(user):
    """Where user may make volumes: any node for admins; for members, the nodes their
    instances are on (members see no nodes otherwise)."""
    if user.is_staff:
        return Node.objects.all()
    live = Instance.objects.for_user(user).exclude(vm_state=VmState.DELETED)
    return Node.objects.filter(pk__in=live.values("node"))


def create_volume(user, node, size_gib, name="", image=None):
    """Start making a volume of size_gib on node for user, blank or with a machine image's
    disk (then at least as large): (the volume, the action), or Refused with nothing
    written."""
    if image is not None:
        size_gib = max(size_gib or 0, image_size_gib(image))
    refuse_without_room(node, size_gib * GIB)
    require_queue()
    with transaction.atomic():
        check_within_quota(user, {"volumes": 1, "volume_gib": size_gib}, "This volume")
        volume = Volume.objects.create(
            owner=user, node=node, size_gib=size_gib, name=name, source_image=image
        )
        return volume, queue_action(None, ActionKind.CREATE_VOLUME, user, volume=volume)


def create_volume_from_snapshot(user, snapshot, name=""):
    """Start making a volume of snapshot's content on its node: (the volume, the action),
    or Refused; the snapshot is not deleted until the copy is done."""
    require_queue()
    with transaction.atomic():
        snapshot = VolumeSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status != SnapshotStatus.COMPLETED:
            raise ActionRefused(f"{snapshot.ec2_id} is {snapshot.status}: not a whole copy.")
        more = {"volumes": 1, "volume_gib": snapshot.size_gib}
        check_within_quota(user, more, "This volume")
        volume = Volume.objects.create(
            owner=user,
            node=snapshot.node,
            size_gib=snapshot.size_gib,
            name=name,
            source_snapshot=snapshot,
        )
        return volume, queue_action(None, ActionKind.CREATE_VOLUME, user, volume=volume)


def image_size_gib(image):
    """The GiB a volume needs to hold image's disk."""
    return max(1, math.ceil(max(image.size_bytes, image.virtual_size_bytes) / GIB))


def launch_with_volumes(user, wanted, **fields):
    """Launch one instance (operations.launch's fields) with volumes attached from its first
    boot, in device order: existing ones (a Volume, available; the instance goes to its node)
    and new blank ones (a size in GiB, made on the node placement picks). [(instance,
    action)], or Refused with nothing written."""
    if len(wanted) > MAX_AT_LAUNCH:
        raise LaunchInvalid("volumes", f"A launch attaches at most {MAX_AT_LAUNCH} volumes.")
    existing = [volume for volume in wanted if isinstance(volume, Volume)]
    blank = [size for size in wanted if not isinstance(size, Volume)]
    fields |= pinned_placement(existing, fields.get("node"), fields["cluster"])
    with transaction.atomic():
        more = {"volumes": len(blank), "volume_gib": sum(blank)}
        check_within_quota(user, more, "This launch")
        [(instance, action)] = launch(user, 1, **fields)
        for device, volume in zip(DEVICE_NAMES[: len(wanted)], wanted, strict=True):
            if isinstance(volume, Volume):
                claim_volume(volume, ActionKind.ATTACH_VOLUME, instance=instance, device=device)
            else:
                Volume.objects.create(
                    owner=user,
                    node=instance.node,
                    size_gib=volume,
                    instance=instance,
                    device=device,
                )
    return [(instance, action)]


def pinned_placement(existing, node, cluster):
    """{"node", "cluster"} of the existing volumes' node, or {} when there are none; a
    LaunchInvalid when they are on different nodes or not where the launch asks."""
    nodes = {volume.node for volume in existing}
    if not nodes:
        return {}
    if len(nodes) > 1 or None in nodes:
        raise LaunchInvalid("volumes", "The volumes to attach must all be on one node.")
    [volume_node] = nodes
    if node and node != volume_node:
        raise LaunchInvalid("volumes", f"The volumes are on {volume_node.name}, not {node.name}.")
    if cluster != volume_node.cluster:
        raise LaunchInvalid(
            "volumes", f"The volumes are on {volume_node.name}, not in cluster {cluster.name}."
        )
    return {"node": volume_node, "cluster": volume_node.cluster}


def refuse_without_room(node, needed_bytes):
    """NoRoom when node's volume pool, as last probed, has less room than needed_bytes (the
    create action checks again on the node)."""
    pool = node.storage_pools.filter(name=Volume.POOL).first()
    why = pool and lacks_room(pool, needed_bytes)
    if why:
        raise NoRoom(f"{node.name} cannot hold this volume: {why}.", field="size_gib")


def delete_volume(volume, user):
    """Start deleting volume (free, or failed); the action, or ActionRefused."""
    require_queue()
    with transaction.atomic():
        claim_volume(volume, ActionKind.DELETE_VOLUME)
        return queue_action(None, ActionKind.DELETE_VOLUME, user, volume=volume)


def attach_volume(volume, instance, user):
    """Start attaching volume to instance (running or stopped, on the volume's node, the
    same owner's) as its next free device; the action, or ActionRefused with nothing
    written."""
    refuse_attaching(volume, instance)
    require_queue()
    with transaction.atomic():
        claim_instance(instance, ActionKind.ATTACH_VOLUME)
        claim_volume(
            volume, ActionKind.ATTACH_VOLUME, instance=instance, device=free_device(instance)
        )
        return queue_action(instance, ActionKind.ATTACH_VOLUME, user, volume=volume)


def refuse_attaching(volume, instance):
    """ActionRefused when volume may never go to instance, whatever their states."""
    if volume.node_id is None:
        raise ActionRefused(
            f"{volume.ec2_id} was never made (its launch failed before it was placed): delete it."
        )
    if instance.node_id != volume.node_id:
        where = instance.node.name if instance.node_id else "no node yet"
        raise ActionRefused(
            f"{volume.ec2_id} is on node {volume.node.name} and {instance.ec2_id} on {where}: "
            "a volume attaches only to an instance on its node.",
            field="instance",
        )
    if volume.owner_id != instance.owner_id:
        raise ActionRefused(
            f"{volume.ec2_id} is {volume.owner}'s and {instance.ec2_id} {instance.owner}'s: a "
            "volume attaches only to its owner's instances.",
            field="instance",
        )
    if volume.node.domain_type == DomainType.TEST:
        raise ActionRefused("libvirt's test driver cannot attach disks: use a QEMU or KVM node.")
    if instance.snapshots.exists():
        raise ActionRefused(
            f"{instance.ec2_id} has snapshots, which would bring back its disks without the "
            "volume (or revert the volume with them): delete them first."
        )


def detach_volume(volume, user):
    """Start detaching volume from its instance; the action, or ActionRefused."""
    require_queue()
    with transaction.atomic():
        volume = (
            Volume.objects.select_for_update(of=("self",))
            .select_related("instance")
            .get(pk=volume.pk)
        )
        if volume.instance is None:
            raise ActionRefused(f"{volume.ec2_id} is not attached to an instance.")
        claim_instance(volume.instance, ActionKind.DETACH_VOLUME)
        claim_volume(volume, ActionKind.DETACH_VOLUME, instance=volume.instance)
        return queue_action(volume.instance, ActionKind.DETACH_VOLUME, user, volume=volume)


def make_image_of_volume(volume, user, name, properties=None):
    """Start making image `name` of user's from volume, with the properties given (the
    model's defaults otherwise): (the pending image, the action), or Refused. No guest may
    write to it meanwhile: a free volume is held (not attached or deleted until the copy
    ends); one attached to a stopped instance claims the instance, as an image of its root
    disk does (it is not started, nor the volume detached, until the copy ends)."""
    refuse_taken(user, name)
    refuse_test_driver(volume.node)
    require_queue()
    description = f"Made from volume {volume.ec2_id}"
    with transaction.atomic():
        volume = (
            Volume.objects.select_for_update(of=("self",))
            .select_related("instance")
            .get(pk=volume.pk)
        )
        instance = volume.instance if volume.status == VolumeStatus.IN_USE else None
        if instance is not None:
            claim_instance(instance, ActionKind.CREATE_IMAGE)
        else:
            hold_for_reading(volume)
        image = pending_image(user, name, description, properties or {})
        action = queue_action(instance, ActionKind.CREATE_IMAGE, user, image=image, volume=volume)
        return image, action


def refuse_test_driver(node):
    if node is not None and node.domain_type == DomainType.TEST:
        raise ActionRefused("libvirt's test driver cannot copy volumes: use a QEMU or KVM node.")


def claim_instance(instance, kind):
    if not claim(instance, kind):
        instance.refresh_from_db(fields=["vm_state", "task_state"])
        raise ActionRefused(states.refusal(instance, kind))


def claim_volume(volume, kind, **fields):
    """The compare-and-set on the volume (within the caller's transaction: a refusal undoes
    the instance's claim too); refused while an action copies it (hold_for_reading). A
    detach names the instance it takes the volume from: it must still be that one's."""
    Volume.objects.select_for_update().filter(pk=volume.pk).first()  # after hold_for_reading's
    if copying := unfinished_reads(volume).first():
        raise ActionRefused(
            f"{volume.ec2_id} is being copied ({copying.get_kind_display().lower()}, action "
            f"{copying.pk}); try again when it is done."
        )
    rows = Volume.objects.filter(pk=volume.pk, status__in=states.VOLUME_FROM[kind])
    if kind == ActionKind.DETACH_VOLUME:
        rows = rows.filter(instance=fields.pop("instance"))
    if rows.update(status=states.VOLUME_TASK[kind], **fields) != 1:
        volume.refresh_from_db(fields=["status", "instance"])
        raise ActionRefused(refusal(volume, kind))


def hold_for_reading(volume):
    """Within the caller's transaction, before it records an action that copies volume:
    refused unless the volume is free (no guest writes to it). Until that action ends,
    claim_volume refuses to attach or delete it."""
    volume = Volume.objects.select_for_update().filter(pk=volume.pk).first()
    if volume.status != VolumeStatus.AVAILABLE:
        why = f"{volume.ec2_id} is {volume.status}: only an available volume is copied."
        raise ActionRefused(why)


def unfinished_reads(volume):
    unfinished = [ActionStatus.QUEUED, ActionStatus.RUNNING]
    return volume.actions.filter(kind__in=states.READS_VOLUME, status__in=unfinished)


def refusal(volume, kind):
    """Why kind may not start on volume now, in words for a 409."""
    if volume.status == VolumeStatus.IN_USE and kind != ActionKind.DETACH_VOLUME:
        return f"{volume.ec2_id} is in use by {volume.instance}: detach it first."
    if volume.status == VolumeStatus.DELETED:
        return f"{volume.ec2_id} is deleted."
    allowed = " or ".join(sorted(states.VOLUME_FROM[kind]))
    label = ActionKind(kind).label.lower().replace(" a volume", "")
    return f"Cannot {label} {volume.ec2_id} while it is {volume.status} (only when {allowed})."


def free_device(instance):
    """The first virtio device name none of instance's volumes has."""
    taken = set(instance.volumes.filter(status__in=WITH_INSTANCE).values_list("device", flat=True))
    for device in DEVICE_NAMES:
        if device not in taken:
            return device
    raise ActionRefused(f"{instance.ec2_id} has no free device name left.")
