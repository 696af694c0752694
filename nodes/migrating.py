"""The migrate action's runner (see nodes/runners.py for how runners work): an instance
moved to another node of its cluster, live with its disks copied along (block migration)
or, stopped, by copying its disks sparse through libvirt's streams and defining it there.

The recorded node is the node the domain is on: it changes once libvirt has moved the
domain, before anything is cleaned up; a failure before that leaves the instance where it
was and removes what was made on the destination.
"""

import contextlib
import time

from django.conf import settings
from django.utils import timezone

from nodes import consoles
from nodes.choices import ActionKind, ActionStatus
from nodes.libvirt import Hypervisor, NodeError, Storage
from nodes.libvirt.consoles import vnc_port
from nodes.libvirt.migration import (
    LiveMigration,
    copy_sparse,
    migration_params,
    migration_uri,
    refuse_incompatible,
    relocated,
)
from nodes.models import Action, Instance, Node
from nodes.runners import GIB, Preempted
from nodes.storage.models import ATTACHED, Volume

POLL_S = 1  # the figures, aborts and limits are looked at every second
ENDED_WITHIN_S = 0.05  # the end of a migration is noticed this soon
WRITABLE = (Instance.ROOT_DISK, Instance.EPHEMERAL_DISK)  # copied by the live migration


class Aborted(NodeError):
    """An admin aborted the migration."""


def migrate(run):
    try:
        power, port = move_to(run, Node.objects.get(name=run.action.params["node"]))
    finally:
        fail_pending_aborts(run.instance)
    run.finish(power, vnc_port=port)


def move_to(run, target_node):
    """Move the instance to target_node (live when the action's params say so): its power
    state there and its VNC port."""
    instance = run.instance
    source_node = instance.node
    live = run.action.params["live"]
    with (
        run.hypervisor() as source,
        Hypervisor(target_node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as target,
    ):
        with run.step(f"Check that {target_node.name} can run it"):
            refuse_incompatible(source, target, source.domain_xml(instance.uuid))
            shared = shares_disks(run, source, target, target_node)
            if shared:
                run.action.finish_step("Its disks are on storage both nodes share.")
        try:
            move(run, source, target, target_node, live, shared)
        except BaseException:
            with contextlib.suppress(NodeError):
                leave(run, Storage(target), target_node, shared)
            raise
        record_move(run, target_node)
        what = "Forget its shared disks' pool" if shared else "Delete its disks"
        with run.step(f"{what} on {source_node.name}"):
            leave(run, Storage(source), source_node, shared)
        power = target.power_state(instance.uuid)
        port = vnc_port(target, instance.uuid) if live else None
    consoles.moved(instance, f"{instance.ec2_id} moved to {target_node.name}: reconnect.")
    return power, port


def shares_disks(run, source, target, target_node):
    """Whether the instance's disks are on storage both nodes share (the same directories
    holding the same files): then nothing is copied, and nothing deleted. NodeError when
    only some of them are."""
    instance = run.instance
    here, there = Storage(source), Storage(target)
    places = [
        (
            instance.pool_name,
            f"{instance.node.instances_path}/{instance.ec2_id}",
            f"{target_node.instances_path}/{instance.ec2_id}",
        )
    ]
    if attached(instance):
        places.append((Volume.POOL, instance.node.volumes_path, target_node.volumes_path))
    seen = {mine == theirs and here.shared_with(there, pool, mine) for pool, mine, theirs in places}
    if len(seen) > 1:
        raise NodeError(
            "Its directory and its volumes are not alike: one on storage both nodes share, "
            "the other not. Kumo moves an instance's disks all shared or all copied."
        )
    return seen.pop()


def leave(run, storage, node, shared):
    """What the instance has on node: deleted, or (shared storage) only its pool forgotten."""
    if shared:
        storage.forget_pool(run.instance.pool_name)
    else:
        remove_copies(run, storage, node)


def move(run, source, target, target_node, live, shared):
    """Copy the disks (unless shared), then move the domain: live (libvirt copies what the
    guest writes) or defined there and undefined here."""
    instance = run.instance
    domain = source.require(instance.uuid)
    moves = path_moves(instance, instance.node, target_node)
    defined = relocated(source.migratable_xml(domain, defined=True), moves)
    if not shared:
        with run.step(f"Prepare its disks on {target_node.name}"):
            prepare_disks(run, source, target, target_node, copy_writable=not live)
    refuse_if_aborted(run)
    if not live:
        with run.step(f"Define it on {target_node.name}"):
            target.define(defined)
            source.undefine(instance.uuid)
        return
    running = relocated(source.migratable_xml(domain), moves)
    uri = migration_uri(target_node.endpoint())
    speed = run.action.params.get("max_speed_mib_s")
    with run.step(f"Migrate it live to {target_node.name} ({uri})"):
        params = migration_params(uri, running, defined, speed)
        migration = LiveMigration(
            source, domain, target, params, settings.KUMO_MIGRATION_TLS, copy_disks=not shared
        )
        follow(run, migration.start())


def path_moves(instance, source_node, target_node):
    """{directory on the source: the same on the destination} for its files."""
    return {
        f"{source_node.instances_path}/{instance.ec2_id}": (
            f"{target_node.instances_path}/{instance.ec2_id}"
        ),
        source_node.images_path: target_node.images_path,
        source_node.volumes_path: target_node.volumes_path,
    }


def prepare_disks(run, source, target, target_node, copy_writable):
    """On the destination: its images, a fresh copy of its directory (the disks the live
    migration fills made empty, on the same backing) and of its attached volumes."""
    instance = run.instance
    here, there = Storage(source), Storage(target)
    remove_copies(run, there, target_node)  # what a killed attempt left there
    for image in instance.images:
        there.upload_image(target_node.images_path, image, beat=run.beat)
    directory = f"{target_node.instances_path}/{instance.ec2_id}"
    pool = here.existing_pool(instance.pool_name)
    target_pool = there.pool(instance.pool_name, directory)
    for name, volume in here.volumes(pool):
        if name in WRITABLE and not copy_writable:
            capacity, _ = here.sizes(volume)
            backing = None
            if name == Instance.ROOT_DISK:
                image = instance.image
                backing = (f"{target_node.images_path}/{image.ec2_id}", image.format)
            there.create_volume(instance.pool_name, directory, name, capacity, backing)
        else:
            copy_with_progress(run, source, volume, target, target_pool, name)
    for volume in attached(instance):
        copy_volume(run, source, target, target_node, volume, copy_writable)


def copy_volume(run, source, target, target_node, volume, copy_data):
    here, there = Storage(source), Storage(target)
    pool = here.existing_pool(Volume.POOL)
    disk = here.volume(pool, volume.file_name)
    if not copy_data:  # the live migration fills it
        capacity, _ = here.sizes(disk)
        there.create_blank(Volume.POOL, target_node.volumes_path, volume.file_name, capacity)
        return
    target_pool = there.room_for(Volume.POOL, target_node.volumes_path, here.sizes(disk)[1])
    copy_with_progress(run, source, disk, target, target_pool, volume.file_name)


def copy_with_progress(run, source, volume, target, pool, name):
    def beat(sent):
        run.progress(f"{name}: {sent / GIB:.2f} GiB")

    copy_sparse(source, volume, target, pool, name, beat)


def attached(instance):
    return list(instance.volumes.filter(status__in=ATTACHED))


def remove_copies(run, storage, node):
    """Its directory's pool on node, and its attached volumes' files there."""
    instance = run.instance
    storage.delete_pool(instance.pool_name)
    volumes = attached(instance)
    if not volumes:
        return
    with contextlib.suppress(NodeError):  # no volumes pool there: nothing to remove
        pool = storage.existing_pool(Volume.POOL)
        for volume in volumes:
            disk = storage.volume(pool, volume.file_name)
            if disk is not None:
                storage.delete_volume(disk)


def record_move(run, target_node):
    """The domain is on target_node now: recorded whatever else happens (even a take-over:
    the recorded node must be the domain's)."""
    instance = run.instance
    Instance.objects.filter(pk=instance.pk).update(node=target_node)
    instance.volumes.filter(status__in=ATTACHED).update(node=target_node)
    instance.node = target_node


def follow(run, migration):
    """Until the migration ends: its figures on the action every second, and the aborts
    and limits asked meanwhile applied."""
    last_look = 0.0
    while not migration.wait(ENDED_WITHIN_S):
        if time.monotonic() - last_look < POLL_S:
            continue
        last_look = time.monotonic()
        try:
            run.beat()
            apply_requests(run, migration)
        except (Preempted, Aborted):
            stop(migration)
            raise
        record_progress(run, migration.statistics())
    migration.outcome()
    record_progress(run, migration.completed_statistics(run.instance.uuid))


def record_progress(run, figures):
    if figures:  # none between two phases of the job
        run.action.progress = figures
        Action.objects.filter(pk=run.action.pk).update(
            progress=figures, heartbeat_at=timezone.now()
        )


def stop(migration):
    """Abort the migration, again until it has ended (a job not yet started ignores it)."""
    for _ in range(settings.KUMO_PROBE_TIMEOUT):
        migration.abort()
        if migration.wait(POLL_S):
            return


def apply_requests(run, migration):
    """Aborted when an admin asked to abort; the speed and downtime asked, set again at
    every look: libvirt goes back to the speed the migration started with when it turns
    from the disks to the memory, dropping a change made before."""
    refuse_if_aborted(run)
    params = Action.objects.values_list("params", flat=True).get(pk=run.action.pk)
    for name, setter in (
        ("max_speed_mib_s", migration.set_max_speed),
        ("max_downtime_ms", migration.set_max_downtime),
    ):
        if params.get(name):
            setter(params[name])


def refuse_if_aborted(run):
    """Aborted (with who asked) when an abort is pending; the abort action succeeds."""
    pending = Action.objects.filter(
        instance=run.instance, kind=ActionKind.ABORT_MIGRATION, status=ActionStatus.QUEUED
    )
    abort = pending.select_related("owner").first()
    if abort is None:
        return
    abort.mark_running()
    abort.add_step(f"Abort the migration (action {run.action.pk})")
    abort.succeed()
    who = abort.owner.username if abort.owner else "Kumo"
    raise Aborted(f"Aborted by {who}: {run.instance.ec2_id} stays on {run.instance.node.name}.")


def fail_pending_aborts(instance):
    """Aborts asked too late: the migration had ended."""
    pending = Action.objects.filter(
        instance=instance, kind=ActionKind.ABORT_MIGRATION, status=ActionStatus.QUEUED
    )
    for abort in pending:
        abort.fail("The migration had ended before it could be aborted.")


RUNNERS = {ActionKind.MIGRATE: migrate}
