"""What each volume action does, step by step, inside an rq job: nodes/runners.py's rules
(steps, heartbeats, compare-and-set, take-over) with the volume's status as the claim."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nodes.choices import ActionKind
from nodes.domainxml import pipeline
from nodes.libvirt import Hypervisor, NodeError, Storage
from nodes.libvirt.domains import disk_with_source
from nodes.runners import PREEMPTED, Preempted, Run
from nodes.states import VOLUME_RESULT, VOLUME_TASK
from nodes.storage.models import Volume


class VolumeRun(Run):
    """An action on a volume alone: a create or delete is ours while the volume keeps the
    status its claim set; nothing takes over a copy of it (making an image)."""

    def __init__(self, action):
        super().__init__(action)
        self.volume = action.volume

    def ensure_ours(self):
        kind = self.action.kind
        if kind not in VOLUME_TASK:
            return
        if not Volume.objects.filter(pk=self.volume.pk, status=VOLUME_TASK[kind]).exists():
            raise Preempted(PREEMPTED)

    def hypervisor(self):
        return Hypervisor(self.volume.node.endpoint(), settings.KUMO_PROBE_TIMEOUT)


def settle(run, **fields):
    """The volume's status after the action succeeded, if it is still the action's."""
    kind = run.action.kind
    claimed = Volume.objects.filter(pk=run.action.volume_id, status=VOLUME_TASK[kind])
    if not claimed.update(status=VOLUME_RESULT[kind], **fields):
        raise Preempted(PREEMPTED)


def create_volume(run):
    volume = run.volume
    step = f"Create {volume.file_name} ({volume.size_gib} GiB) in {Volume.POOL}"
    with run.hypervisor() as hypervisor, run.step(step):
        storage = Storage(hypervisor)
        storage.create_blank(
            Volume.POOL, volume.node.volumes_path, volume.file_name, volume.size_bytes
        )
    settle(run)


def delete_volume(run):
    volume = run.volume
    if volume.node_id is None:  # a launch failed before it placed it: nothing on a node
        settle(run, deleted_at=timezone.now())
        return
    with run.hypervisor() as hypervisor, run.step(f"Delete {volume.file_name}"):
        storage = Storage(hypervisor)
        pool = storage.pool(Volume.POOL, volume.node.volumes_path)
        disk = storage.volume(pool, volume.file_name)
        if disk is not None:
            storage.delete_volume(disk)
    settle(run, deleted_at=timezone.now())


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
    ActionKind.ATTACH_VOLUME: attach_volume,
    ActionKind.DETACH_VOLUME: detach_volume,
}
