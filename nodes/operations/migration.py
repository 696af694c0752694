"""Moving an instance to another node of its cluster (admins): live when it runs, cold when
it is stopped (runners in nodes/migrating.py); aborting a migration or changing its limits
while it runs. Draining a node moves its instances one by one (operations/draining.py)."""

import uuid

from nodes import states
from nodes.choices import ActionKind, VmState
from nodes.operations.actions import record_action, start_with_options
from nodes.operations.errors import ActionRefused, NotAllowed, Refused
from nodes.placement import PlacementFailed, destination

LIMITS = ("max_speed_mib_s", "max_downtime_ms")


def migrate(instance, user, node=None, live=True, within_job=None, **limits):
    """Start moving instance to node (a name; None: where placement picks): the Action, or
    Refused with nothing written. A running instance moves live; live=False moves only a
    stopped one (cold: its disks copied, then its definition). within_job: as for
    start_with_options."""
    refuse_unless_admin(user)
    if instance.vm_state in states.MIGRATES_LIVE and not live:
        raise ActionRefused(
            f"{instance.ec2_id} is running: migrate it live, or stop it first to move it cold."
        )
    target = chosen_destination(instance, node)
    live = instance.vm_state in states.MIGRATES_LIVE
    refuse_unmovable(instance, target, live)
    params = {"node": target.name, "live": live}
    params |= checked_limits(limits)
    return start_with_options(instance, ActionKind.MIGRATE, user, params, within_job)


def chosen_destination(instance, name):
    """The node instance may move to (Refused saying why not)."""
    if instance.node_id is None or instance.vm_state == VmState.DELETED:
        raise ActionRefused(f"{instance.ec2_id} is on no node.")
    if name and name == instance.node.name:
        raise Refused(f"{instance.ec2_id} is on {name} already.", field="node")
    if name and not instance.cluster.nodes.filter(name=name).exists():
        raise Refused(
            f"No node {name} in cluster {instance.cluster.name}: an instance moves only "
            "between the nodes of its cluster.",
            field="node",
        )
    try:
        node, _ = destination(instance, name)
    except PlacementFailed as error:
        raise ActionRefused(str(error)) from error
    return node


def refuse_unmovable(instance, target, live):
    """ActionRefused when libvirt cannot move instance to target (live or cold)."""
    if instance.snapshots.exists():
        raise ActionRefused(
            f"{instance.ec2_id} has snapshots, which libvirt cannot move: delete them first."
        )
    if not live and target.images_path != instance.node.images_path:
        raise ActionRefused(
            f"A cold migration copies the root disk as it is, with the path of its image: "
            f"{target.name} keeps images in {target.images_path}, {instance.node.name} in "
            f"{instance.node.images_path}. Start it and migrate it live."
        )


def checked_limits(limits):
    """The migration limits given (MiB/s, ms), each a whole number above 0."""
    given = {name: value for name, value in limits.items() if value is not None}
    for name, value in given.items():
        if name not in LIMITS or value < 1:
            raise Refused("A whole number above 0.", field=name)
    return given


def running_migration(instance):
    """The instance's unfinished migrate action (ActionRefused when there is none)."""
    migration = instance.running_migration
    if migration is None:
        raise ActionRefused(f"No migration of {instance.ec2_id} is running.")
    return migration


def abort_migration(instance, user):
    """Ask the running migration to stop (it leaves the instance on its node): an Action the
    migration itself carries out within a second, so that no other worker is needed."""
    refuse_unless_admin(user)
    running_migration(instance)
    no_job = f"inline-{uuid.uuid4().hex}"  # it runs inside the migration
    return record_action(instance, ActionKind.ABORT_MIGRATION, user, no_job)


def set_migration_limits(instance, user, **limits):
    """Change the running migration's maximum speed (MiB/s) or downtime (ms): applied
    within a second. The migrate Action."""
    refuse_unless_admin(user)
    wanted = checked_limits(limits)
    if not wanted:
        raise Refused(f"Give {' or '.join(LIMITS)}.", field="max_speed_mib_s")
    migration = running_migration(instance)
    migration.params = {**migration.params, **wanted}
    migration.save(update_fields=["params"])
    return migration


def refuse_unless_admin(user):
    if not user.is_staff:
        raise NotAllowed("Only admins move instances between nodes.")
