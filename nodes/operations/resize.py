"""Resizing an instance to another instance type (runner in nodes/resizing.py): stopped
first if it runs, its disks grown (never shrunk), on its node when the new size fits there,
otherwise moved cold to the node placement picks."""

import copy

from django.db import transaction

from nodes import states
from nodes.choices import ActionKind, VmState
from nodes.models import Node
from nodes.operations.actions import start_with_options
from nodes.operations.errors import ActionRefused, Refused
from nodes.operations.launch import check_within_quota
from nodes.operations.migration import refuse_unmovable
from nodes.placement import PlacementFailed, judge


def resize(instance, user, instance_type, stop=False):
    """Start resizing instance to instance_type: the Action, or Refused with nothing
    written. A running instance is stopped first, and started again, only when stop says
    the user agreed to that."""
    refuse_shrinking(instance.instance_type, instance_type)
    running = instance.vm_state in states.MIGRATES_LIVE
    if running and not stop:
        raise ActionRefused(
            f"{instance.ec2_id} is running: a resize stops it first and starts it again "
            "afterwards. Confirm that (stop: true), or stop it yourself."
        )
    if instance.vm_state == VmState.PAUSED:
        raise ActionRefused(f"{instance.ec2_id} is paused: unpause or stop it first.")
    node, placement = where_it_fits(instance, instance_type)
    params = {
        "instance_type": instance_type.name,
        "node": node.name,
        "placement": placement,
        "live": False,  # a move on the way is cold
        "restart": running,
    }
    with transaction.atomic():
        check_within_quota(user, growth(instance.instance_type, instance_type), "This resize")
        return start_with_options(instance, ActionKind.RESIZE, user, params)


def refuse_shrinking(old, new):
    """Refused when new is old, or has a smaller root or ephemeral disk."""
    if new.pk == old.pk:
        raise Refused(f"It is {old.name} already.", field="instance_type")
    for label, before, after in (
        ("root disk", old.disk_gb, new.disk_gb),
        ("ephemeral disk", old.ephemeral_gb, new.ephemeral_gb),
    ):
        if after < before:
            raise Refused(
                f"Its {label} is {before} GiB and {new.name}'s is {after} GiB: disks are grown, "
                "never shrunk. Choose a type with disks at least as large.",
                field="instance_type",
            )


def growth(old, new):
    """What the resize adds to its owner's quota usage."""
    more = {"vcpus": new.vcpus - old.vcpus, "ram_mb": new.memory_mb - old.memory_mb}
    return {key: value for key, value in more.items() if value > 0}


def where_it_fits(instance, instance_type):
    """(its node if instance_type fits there, otherwise the one the cluster's policy picks
    among those it fits on; placement's verdicts in words): ActionRefused saying why not
    when it fits on none."""
    if instance.node_id is None:
        raise ActionRefused(f"{instance.ec2_id} is on no node.")
    resized = copy.copy(instance)
    resized.instance_type = instance_type
    nodes = list(Node.objects.filter(cluster=instance.cluster_id).order_by("name"))
    try:
        node, verdicts = judge(instance.cluster, nodes, resized)
    except PlacementFailed as error:
        raise ActionRefused(f"As {instance_type.name}: {error}") from error
    if verdicts[instance.node.name] == "accepted":
        node = instance.node
    else:
        refuse_unmovable(instance, node, live=False)
    return node, ", ".join(f"{name}: {verdict}" for name, verdict in verdicts.items())
