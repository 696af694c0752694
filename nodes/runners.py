"""The action runners: what each action does, step by step, inside an rq job (Nova's flows
are the reference). Only nodes.jobs calls them.

Every change to the instance is a compare-and-set on the task_state the action set when it
started (`Run.advance`): if terminate or an admin's reset took the instance over meanwhile,
the update touches no row and the action stops with Preempted instead of overwriting. An
action also checks before each step and every few seconds of a long wait (`Run.beat`), and
terminate waits for an action it interrupted to stop before it removes the domain and disks,
so that nothing is defined or created on the node after them.
"""

import base64
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nodes import configdrive
from nodes.choices import (
    IMAGE_ID_PREFIX,
    ActionKind,
    ActionStatus,
    ImageKind,
    ImageStatus,
    PowerState,
    TaskState,
    VmState,
    VolumeStatus,
)
from nodes.domainxml import pipeline
from nodes.hooks import run_hooks
from nodes.image_files import GIB, no_room_in
from nodes.libvirt import Hypervisor, NodeError, Storage
from nodes.libvirt.consoles import vnc_port
from nodes.libvirt.domains import disk_with_source
from nodes.libvirt.storage import convert_to_qcow2, qcow2_size_needed
from nodes.metrics.models import RenderCount
from nodes.models import Image, Instance
from nodes.operations.errors import Refused
from nodes.placement import place
from nodes.states import RESULT, TASK_FOR, VM_STATE_FOR_POWER
from nodes.storage.models import RENDERED, Volume, free_volumes
from nodes.storage.volumes import delete_volume

PREEMPTED = "Another action took this instance over (terminate or reset state)."
BEAT_EVERY_S = 2


class Preempted(Exception):
    """Another action (terminate, reset state) took the instance over."""


class Run:
    """One action being carried out: its steps, its connection, its instance updates."""

    def __init__(self, action):
        self.action = action
        self.instance = action.instance
        self.task = TASK_FOR.get(action.kind)  # what the action's claim set
        self.last_beat = time.monotonic()

    def ensure_ours(self):
        """Stop (Preempted) if another action took the instance over since the last look."""
        if not Instance.objects.filter(pk=self.instance.pk, task_state=self.task).exists():
            raise Preempted(PREEMPTED)

    def beat(self):
        """Called in long waits: a fresh heartbeat and a look for a take-over, every few s."""
        if time.monotonic() - self.last_beat >= BEAT_EVERY_S:
            self.last_beat = time.monotonic()
            self.action.beat()
            self.ensure_ours()

    def progress(self, detail):
        """Called in a long step: its detail (how far it got), saved with the heartbeat."""
        if time.monotonic() - self.last_beat >= BEAT_EVERY_S:
            self.action.steps[-1]["detail"] = detail
            self.action.save(update_fields=["steps"])
        self.beat()

    @contextmanager
    def step(self, name):
        self.ensure_ours()
        self.action.add_step(name)
        yield
        self.action.finish_step()

    def hypervisor(self):
        if self.instance.node is None:
            raise NodeError(f"{self.instance.ec2_id} was never placed on a node.")
        return Hypervisor(self.instance.node.endpoint(), settings.KUMO_PROBE_TIMEOUT)

    def advance(self, **fields):
        """Save fields on the instance if it is still ours (its task_state unchanged)."""
        if not Instance.objects.filter(pk=self.instance.pk, task_state=self.task).update(**fields):
            raise Preempted(PREEMPTED)
        for name, value in fields.items():
            setattr(self.instance, name, value)
        self.task = fields.get("task_state", self.task)

    def finish(self, power_state, **fields):
        fields.setdefault("vm_state", RESULT.get(self.action.kind, self.instance.vm_state))
        self.advance(task_state=None, power_state=power_state, **fields)


def launch(run):
    instance = run.instance
    with run.step("Choose a node"):
        node, verdicts = place(instance)
        run.action.finish_step(", ".join(f"{n}: {v}" for n, v in verdicts.items()))
    run.advance(task_state=TaskState.SPAWNING)
    with run.hypervisor() as hypervisor:
        if node.domain_type != "test":  # the test driver has no volume upload
            with run.step("Prepare the disks"):
                prepare_disks(run, Storage(hypervisor))
        blank = instance.volumes.filter(status=VolumeStatus.CREATING)
        if blank.exists():
            with run.step("Create the new volumes"):
                create_launch_volumes(run, Storage(hypervisor), blank)
        define_and_start(run, hypervisor)
    with transaction.atomic():
        instance.volumes.filter(status=VolumeStatus.ATTACHING).update(status=VolumeStatus.IN_USE)
        run.finish(PowerState.RUNNING, launched_at=timezone.now())


def create_launch_volumes(run, storage, blank):
    """The blank volumes asked for at launch, on the node placement chose, each then on its
    way in (attaching) with the domain; each step a compare-and-set on the volume (a
    take-over may have freed it)."""
    node = run.instance.node
    for volume in blank:
        ours = Volume.objects.filter(
            pk=volume.pk, status=VolumeStatus.CREATING, instance=run.instance
        )
        if not ours.update(node=node):
            raise Preempted(PREEMPTED)
        storage.create_blank(Volume.POOL, node.volumes_path, volume.file_name, volume.size_bytes)
        if not ours.update(status=VolumeStatus.ATTACHING):
            raise Preempted(PREEMPTED)
        run.beat()


def prepare_disks(run, storage):
    instance, node = run.instance, run.instance.node
    for image in instance.images:
        storage.upload_image(node.images_path, image, beat=run.beat)
    run.ensure_ours()  # uploads take long: no disks for an instance being terminated
    backing = f"{node.images_path}/{instance.image.ec2_id}"
    image = instance.image
    capacity = max(instance.instance_type.disk_gb * GIB, image.size_bytes, image.virtual_size_bytes)
    pool, directory = instance.pool_name, instance.directory
    root_backing = (backing, instance.image.format)
    storage.create_volume(pool, directory, Instance.ROOT_DISK, capacity, root_backing)
    if instance.instance_type.ephemeral_gb:
        size = instance.instance_type.ephemeral_gb * GIB
        storage.create_volume(pool, directory, Instance.EPHEMERAL_DISK, size)
    if instance.image.cloud_init:
        upload_config_drive(storage, instance, pool, directory)


def upload_config_drive(storage, instance, pool, directory):
    """The NoCloud ISO: instance id, host name, the keypair's key, the user data."""
    keys = [instance.public_key] if instance.public_key else []
    user_data = base64.b64decode(instance.user_data or "")
    image = configdrive.build(instance.ec2_id, instance.ec2_id.lower(), keys, user_data)
    with tempfile.NamedTemporaryFile(prefix=f"{instance.ec2_id}-", suffix=".iso") as iso:
        iso.write(image)
        iso.flush()
        storage.upload(pool, directory, Instance.CONFIG_DRIVE, iso.name, len(image), "raw")


def define_and_start(run, hypervisor):
    """Render the domain through the current rules, let pre-boot hooks rewrite it, define
    it and start it."""
    render_and_define(run, hypervisor)
    with run.step("Start the domain"):
        hypervisor.start(run.instance.uuid)
        record_vnc_port(run, hypervisor)


def render_and_define(run, hypervisor):
    with run.step("Render the domain XML"):
        rendered = pipeline.render(run.instance, check_schema=False)
        RenderCount.record(RenderCount.LAUNCH, rendered.outcome.ok)
        if not rendered.outcome.ok:
            raise NodeError(
                "The rules produce no domain: " + "; ".join(map(str, rendered.outcome.errors))
            )
        domain_xml = pre_boot(run.instance, rendered.domain_text)
        refuse_missing_volumes(run.instance, domain_xml)
        run.instance.record_domain(domain_xml, rendered.stylesheets)
    with run.step("Define the domain"):
        hypervisor.define(domain_xml)


def refuse_missing_volumes(instance, domain_xml):
    """NodeError when the rules (or hooks) left out a volume the instance is to have."""
    for volume in instance.volumes.filter(status__in=RENDERED).select_related("node"):
        if disk_with_source(domain_xml, volume.path) is None:
            raise NodeError(
                f"The rules produce no disk for {volume.ec2_id} ({volume.path}): the default "
                "rule renders /instance/volumes/volume/diskPath; see the rule chain's preview."
            )


def record_vnc_port(run, hypervisor):
    """The port VNC got this time (autoport), for console tokens to be bound to."""
    run.advance(vnc_port=vnc_port(hypervisor, run.instance.uuid))


def pre_boot(instance, domain_xml):
    """Pre-boot hooks get the domain XML in a file and may rewrite it; it is read back."""
    with tempfile.TemporaryDirectory(prefix=f"kumo-{instance.ec2_id}-") as folder:
        path = Path(folder) / "libvirt.xml"
        path.write_text(domain_xml)
        run_hooks("pre-boot", path)
        return path.read_text()


def adopt(run):
    """Take over a domain Kumo did not create: pre-adopt hooks may veto; its XML is kept."""
    with run.hypervisor() as hypervisor:
        with run.step("Read the domain"):
            domain_xml = hypervisor.domain_xml(run.instance.uuid)
            power = hypervisor.power_state(run.instance.uuid)
            record_vnc_port(run, hypervisor)
        with run.step("Run pre-adopt hooks"), tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "libvirt.xml"
            path.write_text(domain_xml)
            run_hooks("pre-adopt", path)
    run.instance.record_domain(domain_xml, [{"rule": None, "name": "adopted", "revision": None}])
    run.finish(
        power, vm_state=VM_STATE_FOR_POWER.get(power, VmState.STOPPED), launched_at=timezone.now()
    )


def stop(run):
    with run.hypervisor() as hypervisor:
        power_off(run, hypervisor)
    run.finish(PowerState.SHUTOFF)


def power_off(run, hypervisor):
    """ACPI power-off, forced when the guest has not gone within KUMO_STOP_TIMEOUT."""
    with run.step(f"Ask the guest to power off (up to {settings.KUMO_STOP_TIMEOUT} s)"):
        off = hypervisor.shutdown(run.instance.uuid, settings.KUMO_STOP_TIMEOUT, beat=run.beat)
    if not off:
        with run.step("Force it off (it did not power off in time)"):
            hypervisor.destroy(run.instance.uuid)


def reboot(run):
    """Soft: ACPI power-off, then start; a guest that ignores it gets a hard reboot."""
    with run.hypervisor() as hypervisor:
        with run.step(f"Ask the guest to power off (up to {settings.KUMO_REBOOT_TIMEOUT} s)"):
            off = hypervisor.shutdown(
                run.instance.uuid, settings.KUMO_REBOOT_TIMEOUT, beat=run.beat
            )
        if off:
            with run.step("Start the domain"):
                hypervisor.start(run.instance.uuid)
                record_vnc_port(run, hypervisor)
        else:
            run.action.add_step("The guest did not power off: hard reboot")
            redefine_and_start(run, hypervisor)
    run.finish(PowerState.RUNNING)


def hard_reboot(run):
    """Nova's "sledge-o-matic": destroy, regenerate the XML from the current rules, redefine,
    start."""
    with run.hypervisor() as hypervisor:
        redefine_and_start(run, hypervisor)
    run.finish(PowerState.RUNNING)


def redefine_and_start(run, hypervisor):
    with run.step("Force the domain off"):
        hypervisor.destroy(run.instance.uuid)
        hypervisor.discard_managed_save(run.instance.uuid)  # a suspended one boots afresh
    define_and_start(run, hypervisor)


def one_call(step, operation, power):
    """An action that is one hypervisor call on the domain, leaving a known power state."""

    def run_it(run):
        with run.hypervisor() as hypervisor, run.step(step):
            getattr(hypervisor, operation)(run.instance.uuid)
            if power == PowerState.RUNNING:
                record_vnc_port(run, hypervisor)
        run.finish(power)

    return run_it


start = one_call("Start the domain", "start", PowerState.RUNNING)
pause = one_call("Pause the domain", "pause", PowerState.PAUSED)
unpause = one_call("Unpause the domain", "unpause", PowerState.RUNNING)
suspend = one_call("Save the memory to disk (managed save)", "managed_save", PowerState.SHUTOFF)
resume = one_call("Restore from the managed save", "start", PowerState.RUNNING)


def snapshot(run):
    name = f"{run.instance.ec2_id}-{timezone.now():%Y%m%d-%H%M%S-%f}"
    with run.hypervisor() as hypervisor, run.step(f"Take snapshot {name}"):
        hypervisor.snapshot(run.instance.uuid, name, f"Snapshot of {run.instance.ec2_id} by Kumo")
        power = hypervisor.power_state(run.instance.uuid)
    run.instance.snapshots.create(name=name)
    run.finish(power)


def revert_snapshot(run):
    """Back to the snapshot's disk and memory: the vm_state follows what comes back."""
    name = run.action.snapshot.name
    with run.hypervisor() as hypervisor, run.step(f"Revert to snapshot {name}"):
        hypervisor.revert_snapshot(run.instance.uuid, name)
        power = hypervisor.power_state(run.instance.uuid)
        record_vnc_port(run, hypervisor)
    run.finish(power, vm_state=VM_STATE_FOR_POWER.get(power, VmState.STOPPED))


def delete_snapshot(run):
    snapshot = run.action.snapshot
    with run.hypervisor() as hypervisor, run.step(f"Delete snapshot {snapshot.name}"):
        hypervisor.delete_snapshot(run.instance.uuid, snapshot.name)
        power = hypervisor.power_state(run.instance.uuid)
    snapshot.delete()
    run.finish(power)


def create_image(run):
    """Copy the stopped instance's root disk (or the volume, or volume snapshot, the action
    names), flattened, into the image the action names, on the console host; the image
    becomes available only once its file is whole."""
    image, volume, snapshot = run.action.image, run.action.volume, run.action.volume_snapshot
    if volume is not None:
        pool, source = Volume.POOL, volume.file_name
    elif snapshot is not None:
        pool, source = Volume.POOL, snapshot.file_name
    else:
        pool, source = run.instance.pool_name, Instance.ROOT_DISK
    size, capacity = copy_into_image(run, pool, source)
    with transaction.atomic():  # a take-over now leaves the image pending, then discarded
        Image.objects.filter(pk=image.pk).update(
            status=ImageStatus.AVAILABLE, size_bytes=size, virtual_size_bytes=capacity
        )
        if run.instance is not None:
            run.finish(PowerState.SHUTOFF)


def copy_into_image(run, pool_name, source):
    """source of the node's pool, flattened, as the action's image's file on the console
    host: (its size, the capacity its guest sees) in bytes. On a node that is this host, the
    file is converted straight into the image; on another, copied flattened on the node,
    then downloaded."""
    image = run.action.image
    with run.hypervisor() as hypervisor:
        storage = Storage(hypervisor)
        pool = storage.existing_pool(pool_name)
        disk = storage.volume(pool, source)
        capacity, _ = storage.sizes(disk)
        if local := storage.local_file(pool, source):
            refuse_without_room_here(image, qcow2_size_needed(local))
            with run.step(f"Copy {source}, flattened, into {image.location}"):
                while_beating(run, convert_to_qcow2, local, image.partial_location)
            size = Path(image.partial_location).stat().st_size
        else:
            size = copy_then_download(run, storage, pool, source, image)
    Path(image.partial_location).rename(image.location)
    return size, capacity


def copy_then_download(run, storage, pool, source, image):
    with run.step(f"Copy {source}, flattened"):
        delete_leftover_copies(storage, pool)
        copy_name = Path(image.location).name
        copy = while_beating(run, storage.flattened_copy, pool, source, copy_name)
    try:
        return download_image(run, storage, copy, image)
    finally:
        storage.delete_volume(copy, quietly=True)


def delete_leftover_copies(storage, pool):
    """Copies a killed worker left in pool: those of images no longer pending (a copy being
    made for another image, in a pool volumes share, stays)."""
    pending = Image.objects.filter(status=ImageStatus.PENDING).values_list("location", flat=True)
    prefix = f"{IMAGE_ID_PREFIX[ImageKind.MACHINE]}-"
    storage.delete_volumes(pool, prefix, keep={Path(location).name for location in pending})


def while_beating(run, call, *args):
    """call(*args) in a thread of its own, the action's heartbeat kept fresh meanwhile: one
    libvirt call that runs for minutes (a copy) must not look like a dead worker."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="long-call") as pool:
        future = pool.submit(call, *args)
        while True:
            try:
                return future.result(timeout=BEAT_EVERY_S)
            except FutureTimeout:
                run.action.beat()


def download_image(run, storage, copy, image):
    """The copy into image's partial file on the console host (refused when that has no
    room for it); the bytes written."""
    _, needed = storage.sizes(copy)
    refuse_without_room_here(image, needed)
    with run.step(f"Download it to the console host ({image.location})"):

        def progress(received):
            run.progress(f"{received / GIB:.2f} of {needed / GIB:.2f} GiB")

        size = storage.download(copy, image.partial_location, beat=progress)
        run.action.finish_step(f"{size / GIB:.2f} GiB")
    return size


def refuse_without_room_here(image, needed):
    """NodeError when the console host has less room than needed bytes for image's file."""
    if problem := no_room_in(Path(image.location).parent, needed):
        raise NodeError(problem)


def terminate(run):
    instance = run.instance
    wait_for_interrupted(run)
    if instance.node_id:
        with run.hypervisor() as hypervisor:
            with run.step("Force the domain off"):
                hypervisor.destroy(instance.uuid)
            with run.step("Run pre-clean hooks"):
                run_hooks("pre-clean", instance.directory)
            with run.step("Remove the definition, managed save and snapshots"):
                hypervisor.undefine(instance.uuid)
            with run.step("Delete the instance's disks"):
                Storage(hypervisor).delete_pool(instance.pool_name)
    instance.snapshots.all().delete()  # gone with the domain and its disks
    doomed = list(instance.volumes.filter(delete_on_termination=True))
    free_volumes(instance)  # they outlive it, unless the terminate asked otherwise
    if doomed:
        delete_volumes_of_terminated(run, doomed)
    run.finish(PowerState.NOSTATE, terminated_at=timezone.now())


def delete_volumes_of_terminated(run, volumes):
    """Queue deleting volumes, as the terminate asked; one that cannot be is kept, and said."""
    with run.step(f"Queue deleting {', '.join(volume.ec2_id for volume in volumes)}"):
        kept = []
        for volume in volumes:
            try:
                delete_volume(volume, run.action.owner)
            except Refused as error:
                kept.append(f"{volume.ec2_id} kept: {error.message}")
        run.action.finish_step("; ".join(kept))


def wait_for_interrupted(run):
    """An action still running on the instance stops at its next step, or within seconds of
    a long wait: let it, so that it creates nothing on the node after terminate's cleanup
    (at most KUMO_ACTION_STALE_AFTER s, after which the watcher fails it anyway)."""
    running = run.instance.actions.filter(status=ActionStatus.RUNNING).exclude(pk=run.action.pk)
    if not running.exists():
        return
    with run.step("Wait for the interrupted action to stop"):
        deadline = time.monotonic() + settings.KUMO_ACTION_STALE_AFTER
        while running.exists() and time.monotonic() < deadline:
            time.sleep(0.25)
            run.beat()


def tune(run):
    """Each value asked for, live (if the domain runs) and defined, then recorded on the
    instance: one that fails leaves those before it applied and recorded."""
    asked, uuid = run.action.params, run.instance.uuid
    with run.hypervisor() as hypervisor:
        if "vcpus" in asked:
            with run.step(f"Set the vCPUs to {asked['vcpus']}"):
                hypervisor.set_vcpus(uuid, asked["vcpus"])
            run.advance(current_vcpus=asked["vcpus"])
        if "memory_mib" in asked:
            with run.step(f"Set the memory to {asked['memory_mib']} MiB"):
                hypervisor.set_memory(uuid, asked["memory_mib"])
            run.advance(current_memory_mb=asked["memory_mib"])
        if "cpu_weight" in asked or "cpu_cap" in asked:
            weight = asked.get("cpu_weight", run.instance.tuning.cpu_weight)
            cap = asked.get("cpu_cap", run.instance.tuning.cpu_cap)
            with run.step(f"Set the CPU weight to {weight} and the cap to {cap} %"):
                hypervisor.set_cpu_tuning(uuid, weight, cap)
            run.advance(cpu_weight=weight, cpu_cap=cap)
        power = hypervisor.power_state(uuid)
    run.finish(power)


def reset_state(run):
    """An admin's "just make it usable": vm_state from what the hypervisor says, no task."""
    power = PowerState.NOSTATE
    if run.instance.node_id:
        with run.hypervisor() as hypervisor, run.step("Read the power state"):
            power = hypervisor.power_state(run.instance.uuid)
    vm_state = VM_STATE_FOR_POWER.get(power, VmState.ERROR)
    run.advance(vm_state=vm_state, task_state=None, power_state=power)
    unfinished = run.instance.actions.filter(status__in=["queued", "running"])
    for action in unfinished.exclude(pk=run.action.pk):
        action.fail("Stopped by an admin's reset state.")
        action.undo_unfinished()


RUNNERS = {
    ActionKind.LAUNCH: launch,
    ActionKind.ADOPT: adopt,
    ActionKind.START: start,
    ActionKind.STOP: stop,
    ActionKind.REBOOT: reboot,
    ActionKind.HARD_REBOOT: hard_reboot,
    ActionKind.PAUSE: pause,
    ActionKind.UNPAUSE: unpause,
    ActionKind.SUSPEND: suspend,
    ActionKind.RESUME: resume,
    ActionKind.SNAPSHOT: snapshot,
    ActionKind.REVERT_SNAPSHOT: revert_snapshot,
    ActionKind.DELETE_SNAPSHOT: delete_snapshot,
    ActionKind.CREATE_IMAGE: create_image,
    ActionKind.TUNE: tune,
    ActionKind.TERMINATE: terminate,
    ActionKind.RESET_STATE: reset_state,
}


def after_failure(run):
    run.action.release_instance([run.task])
    run.action.undo_unfinished()
