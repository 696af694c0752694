"""The drain job (operations/draining.py queues it): a node's instances moved one by one,
live when they run and cold when stopped, to where placement picks, each a migrate action
of its own carried out inside this job; what could not move is kept in the node's report
with the reason. Putting the node back in service stops it before the next instance."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from rq import get_current_job

from nodes import operations, states
from nodes.choices import ActionKind, ActionStatus, VmState
from nodes.jobs import run_action
from nodes.models import Node

MOVABLE = states.ALLOWED_FROM[ActionKind.MIGRATE]


def drain_node(node_id, user_id):
    node = Node.objects.get(pk=node_id)
    user = get_user_model().objects.get(pk=user_id)
    report = node.drain_report
    for instance in node.instances.exclude(vm_state=VmState.DELETED).order_by("pk"):
        if not Node.objects.filter(pk=node.pk, draining=True).exists():
            report["stopped"] = "Back in service before every instance had moved."
            break
        moved_to, why_not = move_away(instance, user)
        if moved_to:
            report["moved"].append({"instance": instance.ec2_id, "node": moved_to})
        else:
            report["left"].append({"instance": instance.ec2_id, "reason": why_not})
        save(node, report)
    report["finished_at"] = timezone.now().isoformat()
    save(node, report)
    return f"{len(report['moved'])} moved, {len(report['left'])} left"


def move_away(instance, user):
    """(the node instance moved to, "") or (None, why it did not move)."""
    if instance.vm_state not in MOVABLE:
        return None, f"It is {instance.vm_state}: only active, paused or stopped ones move."
    live = instance.vm_state in states.MIGRATES_LIVE
    try:
        action = operations.migrate(instance, user, live=live, within_job=get_current_job().id)
    except operations.Refused as refused:
        return None, refused.message
    run_action(action.pk)
    action.refresh_from_db()
    if action.status != ActionStatus.SUCCEEDED:
        return None, action.error
    return action.params["node"], ""


def save(node, report):
    Node.objects.filter(pk=node.pk).update(drain_report=report)
