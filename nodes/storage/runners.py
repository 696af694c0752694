"""What each volume action does, step by step, inside an rq job: nodes/runners.py's rules
(steps, heartbeats, compare-and-set, take-over) with the volume's status as the claim."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nodes.choices import ActionKind
from nodes.domainxml import pipeline
from nodes.libvirt import Hypervisor, NodeError, Storage
from nodes.libvirt.domains import disk_with_source
from nodes.runners import Preempted, Run, while_beating
from nodes.states import SNAPSHOT_RESULT, SNAPSHOT_TASK, VOLUME_RESULT, VOLUME_TASK
from nodes.storage.models import IMAGES_POOL, Volume, VolumeSnapshot

TAKEN_OVER = "The action no longer holds what it acts on (the watcher or a reset took it over)."


class VolumeRun(Run):
    """An action on a volume, a volume snapshot or an image alone (an import): a create or
    delete is ours while the volume (snapshot) keeps the status its claim set; nothing takes
    over a copy of one (a snapshot, an image) or an import."""

    def __init__(self, action):
        super().__init__(action)
        self.volume, self.snapshot = action.volume, action.volume_snapshot

    def ensure_ours(self):
        kind = self.action.kind
        if kind in VOLUME_TASK:
            claimed = Volume.objects.filter(pk=self.volume.pk, status=VOLUME_TASK[kind])
        elif kind == ActionKind.DELETE_VOLUME_SNAPSHOT:
            claimed = VolumeSnapshot.objects.filter(pk=self.snapshot.pk, status=SNAPSHOT_TASK[kind])
        else:
            return
        if not claimed.exists():
            raise Preempted(TAKEN_OVER)

    def hypervisor(self):
        node = (self.volume or self.snapshot).node
        return Hypervisor(node.endpoint(), settings.KUMO_PROBE_TIMEOUT)


def settle_snapshot(run, **fields):
    kind = run.action.kind
    claimed = VolumeSnapshot.objects.filter(pk=run.snapshot.pk, status=SNAPSHOT_TASK[kind])
    if not claimed.update(status=SNAPSHOT_RESULT[kind], **fields):
        raise Preempted(TAKEN_OVER)


def settle(run, **fields):
    """The volume's status after the action succeeded, if it is still the action's."""
    kind = run.action.kind
    claimed = Volume.objects.filter(pk=run.action.volume_id, status=VOLUME_TASK[kind])
    if not claimed.update(status=VOLUME_RESULT[kind], **fields):
        raise Preempted(TAKEN_OVER)


def create_volume(run):
    """A blank volume, or a flattened copy of a machine image or of a volume snapshot."""
    volume = run.volume
    with run.hypervisor() as hypervisor:
        storage = Storage(hypervisor)
        if volume.source_snapshot_id or volume.source_image_id:
            copy_into_volume(run, storage, volume)
        else:
            with run.step(f"Create {volume.file_name} ({volume.size_gib} GiB) in {Volume.POOL}"):
                storage.create_blank(
                    Volume.POOL, volume.node.volumes_path, volume.file_name, volume.size_bytes
                )
    settle(run)


def copy_into_volume(run, storage, volume):
    """The volume's snapshot, or its machine image (uploaded to the node first, as a launch
    does), copied flattened into it, grown to its size."""
    if volume.source_snapshot_id:
        source_pool, source = Volume.POOL, volume.source_snapshot.file_name
    else:
        source_pool, source = IMAGES_POOL, upload_source_image(run, storage, volume)
    with run.step(f"Copy {source} into {volume.file_name} ({volume.size_gib} GiB)"):
        into = storage.room_for(Volume.POOL, volume.node.volumes_path, volume.size_bytes)
        origin = storage.existing_pool(source_pool)
        args = (origin, source, volume.file_name, into, volume.size_bytes)
        while_beating(run, storage.flattened_copy, *args)


def upload_source_image(run, storage, volume):
    """The volume's machine image on its node (uploaded once, as for a launch); its name."""
    image = volume.source_image
    with run.step(f"Upload {image.ec2_id} to the node"):
        storage.upload_image(volume.node.images_path, image, beat=run.beat)
    return image.ec2_id


def snapshot_volume(run):
    volume, snapshot = run.volume, run.snapshot
    with run.hypervisor() as hypervisor:
        storage = Storage(hypervisor)
        with run.step(f"Copy {volume.file_name} into {snapshot.file_name}, flattened"):
            pool = storage.room_for(Volume.POOL, volume.node.volumes_path, volume.size_bytes)
            while_beating(run, storage.flattened_copy, pool, volume.file_name, snapshot.file_name)
    settle_snapshot(run)


def delete_volume_snapshot(run):
    delete_file(run, run.snapshot.node, run.snapshot.file_name)
    settle_snapshot(run, deleted_at=timezone.now())


def delete_volume(run):
    if run.volume.node_id is not None:  # else a launch failed before it placed it
        delete_file(run, run.volume.node, run.volume.file_name)
    settle(run, deleted_at=timezone.now())


def delete_file(run, node, file_name):
    """Delete file_name from node's pool kumo-volumes, if it is there."""
    with run.hypervisor() as hypervisor, run.step(f"Delete {file_name}"):
        storage = Storage(hypervisor)
        disk = storage.volume(storage.pool(Volume.POOL, node.volumes_path), file_name)
        if disk is not None:
            storage.delete_volume(disk)


def attach_volume(run):
    """Render the instance's domain with the volume (the rules decide how its disk looks),
    attach that disk to the definition and, if it runs, to the guest."""
    volume, instance = run.action.volume, run.instance
    path = volume.path
    with run.hypervisor() as hypervisor:
        with run.step(f"Render {volume.ec2_id}'s disk through the rules"):
            rendered = pipeline.render(instance, check_schema=False)
            disk = rendered.outcome.ok and disk_with_source(rendered.domain_text, path)
            if not disk:
                raise NodeError(
                    "The rules produce no disk for the volume: "
                    + ("; ".join(map(str, rendered.outcome.errors)) or f"none has source {path}.")
                )
        with run.step(f"Attach it as {volume.device}"):
            hypervisor.attach_disk(instance.uuid, disk, path)
        power = hypervisor.power_state(instance.uuid)
    with transaction.atomic():
        settle(run)
        run.finish(power)


def detach_volume(run):
    volume, instance = run.action.volume, run.instance
    path, timeout = volume.path, settings.KUMO_DETACH_TIMEOUT
    with run.hypervisor() as hypervisor:
        with run.step(f"Detach {volume.device} (the guest has {timeout} s to let it go)"):
            gone = hypervisor.detach_disk(instance.uuid, path, timeout, beat=run.beat)
        if not gone:
            raise NodeError(
                f"The guest did not release {volume.device} within {timeout} s: a running "
                "guest lets a virtio disk go only when its kernel answers the unplug. The "
                "definition no longer holds the volume; stop the instance and detach again."
            )
        power = hypervisor.power_state(instance.uuid)
    with transaction.atomic():
        settle(run, instance=None, device="")
        run.finish(power)


RUNNERS = {
    ActionKind.CREATE_VOLUME: create_volume,
    ActionKind.DELETE_VOLUME: delete_volume,
    ActionKind.SNAPSHOT_VOLUME: snapshot_volume,
    ActionKind.DELETE_VOLUME_SNAPSHOT: delete_volume_snapshot,
    ActionKind.ATTACH_VOLUME: attach_volume,
    ActionKind.DETACH_VOLUME: detach_volume,
}
