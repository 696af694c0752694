"""Starting actions on instances: the compare-and-set claim, the Action row, its job queued
after the transaction commits; and adopting a domain Kumo did not create."""

import uuid

from django.db import transaction
from django.db.models import Q

from nodes import consoles, states
from nodes.choices import ActionKind
from nodes.models import Action, Instance, UnmanagedDomain
from nodes.operations.errors import ActionRefused, NotAllowed, Refused
from nodes.operations.queue import job_queue, require_queue
from nodes.storage.models import ATTACHED


def claim(instance, kind):
    """The compare-and-set of DESIGN.md §4: set the task if the instance is in a state that
    allows kind, with no task or one that kind may take over (states.INTERRUPTS)."""
    free = Q(task_state__isnull=True) | Q(task_state__in=states.INTERRUPTS.get(kind, ()))
    rows = Instance.objects.filter(free, pk=instance.pk, vm_state__in=states.ALLOWED_FROM[kind])
    return rows.update(task_state=states.TASK_FOR.get(kind)) == 1


def claim_or_refuse(instance, kind):
    """claim, or ActionRefused saying why not (inside the caller's transaction)."""
    if not claim(instance, kind):
        instance.refresh_from_db(fields=["vm_state", "task_state"])
        raise ActionRefused(states.refusal(instance, kind))


def start_with_options(instance, kind, user, params, within_job=None):
    """Claim instance for kind and queue it with its params (a tune's values, a
    migration's destination): the Action, or Refused with nothing written. within_job: the
    id of the running job that carries it out itself (a drain), instead of a job of its own."""
    require_queue()
    with transaction.atomic():
        claim_or_refuse(instance, kind)
        if within_job:
            return record_action(instance, kind, user, Action.inside(within_job), params=params)
        return queue_action(instance, kind, user, params=params)


def queue_action(instance, kind, user, **about):
    """Record an Action and enqueue its job (after the transaction commits); about: what
    else it is about (snapshot, image, volume, volume_snapshot) and its params."""
    action = record_action(instance, kind, user, f"action-{uuid.uuid4().hex}", **about)
    enqueue_action(action)
    return action


def record_action(instance, kind, user, job_id, **about):
    return Action.objects.create(instance=instance, kind=kind, owner=user, job_id=job_id, **about)


def enqueue_action(action):
    job_queue().enqueue(
        "nodes.jobs.run_action",
        action.pk,
        job_id=action.job_id,
        job_timeout=3600,
        description=str(action),
    )


def request_named_action(instance, name, user, snapshot_name="", delete_volumes=False):
    """What pages and the API call for a user's action request: the action by its name and,
    for revert and delete, the snapshot by its name; terminate may delete the instance's
    volumes too. The Action, or Refused."""
    if name not in states.USER_ACTIONS:
        raise Refused(f"Choose one of {', '.join(states.USER_ACTIONS)}.", field="action")
    snapshot = None
    if snapshot_name:
        snapshot = instance.snapshots.filter(name=snapshot_name).first()
        if snapshot is None:
            raise Refused("No such snapshot of this instance.", field="snapshot")
    return request_action(instance, ActionKind(name), user, snapshot, delete_volumes)


def request_action(instance, kind, user, snapshot=None, delete_volumes=False):
    """Start kind on instance for user; the Action, or ActionRefused / NotAllowed /
    QueueUnavailable with nothing written. Revert and delete name one of its snapshots;
    a terminate with delete_volumes deletes the volumes attached to it once it is gone."""
    if delete_volumes and kind != ActionKind.TERMINATE:
        raise Refused("Only terminate deletes volumes.", field="delete_volumes")
    if kind in states.ADMIN_ONLY and not user.is_staff:
        raise NotAllowed("Only admins can reset an instance's state.")
    if (kind in states.ON_SNAPSHOT) != (snapshot is not None):
        raise ActionRefused(f"{ActionKind(kind).label} names one of the instance's snapshots.")
    if kind == ActionKind.SNAPSHOT and instance.volumes.filter(status__in=ATTACHED).exists():
        raise ActionRefused(
            f"{instance.ec2_id} has volumes attached: a snapshot of it would hold them too, "
            "and reverting would roll them back. Snapshot its volumes instead, or detach them."
        )
    require_queue()
    with transaction.atomic():
        claim_or_refuse(instance, kind)
        if kind in states.CHANGES_CONSOLE:
            consoles.revoke_tokens(instance)
        if kind == ActionKind.TERMINATE:
            attached = instance.volumes.filter(status__in=ATTACHED)
            attached.update(delete_on_termination=delete_volumes)
        return queue_action(instance, kind, user, snapshot=snapshot)


def adopt(user, unmanaged, owner, image, instance_type):
    """Make an unmanaged domain a Kumo instance of owner; the adopt action does the rest.
    ActionRefused when it was adopted meanwhile (two admins at once: the row is locked)."""
    require_queue()
    with transaction.atomic():
        if not UnmanagedDomain.objects.select_for_update().filter(pk=unmanaged.pk).exists():
            raise ActionRefused(
                f"{unmanaged.name} was adopted meanwhile, or left {unmanaged.node}."
            )
        node = unmanaged.node
        instance = Instance.objects.create(
            uuid=unmanaged.uuid,
            name=unmanaged.name,
            owner=owner,
            cluster=node.cluster,
            node=node,
            image=image,
            instance_type=instance_type,
            task_state=states.TASK_FOR[ActionKind.ADOPT],
        )
        unmanaged.delete()
        action = queue_action(instance, ActionKind.ADOPT, user)
    return instance, action
