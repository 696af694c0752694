"""Decide, record, enqueue: what pages and the API call to make something happen.

Jobs are named by their dotted path, so that the web process never imports nodes.jobs and,
through it, libvirt: every libvirt call happens in a worker or the watcher."""

import base64
import uuid
from datetime import timedelta

import django_rq
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nodes import consoles, states
from nodes.choices import ActionKind, VmState
from nodes.ids import new_ec2_id
from nodes.models import Action, Cluster, ConsoleOutput, Instance, Quota
from nodes.models.quotas import usage
from nodes.xmltext import incompatibility


class QueueUnavailable(Exception):
    """Redis cannot be reached, so no job can be queued; nothing was written."""


def job_queue():
    return django_rq.get_queue("default")


def redis_is_reachable():
    try:
        return bool(django_rq.get_connection("default").ping())
    except redis.exceptions.RedisError:
        return False


def require_queue():
    if not redis_is_reachable():
        raise QueueUnavailable(
            "The job queue (Redis) is not reachable, so nothing was queued. Pages still work; "
            "start Redis or fix REDIS_URL, then try again."
        )


def enqueue_node_job(function, row_id, job_id, description):
    """Queue a short job that talks to one node (a probe, a read): it may take the probe
    timeout to connect, then a little more."""
    job_queue().enqueue(
        f"nodes.jobs.{function}",
        row_id,
        job_id=job_id,
        job_timeout=settings.KUMO_PROBE_TIMEOUT + 30,
        description=description,
    )


def request_probe(node):
    """Queue a "Check connection" of node; returns the rq job id."""
    require_queue()
    job_id = f"probe-{node.pk}-{uuid.uuid4().hex[:12]}"
    enqueue_node_job("probe_node", node.pk, job_id, f"Check connection to node {node.name}")
    return job_id


CHECK_JOB_PREFIX = "check-definition-"  # rq job ids of definition checks


def request_definition_check(node, domain_xml):
    """Queue libvirt's own validation of domain_xml on node; returns the rq job id, whose
    outcome `definition_check` reads."""
    require_queue()
    job_id = f"{CHECK_JOB_PREFIX}{uuid.uuid4().hex}"
    job_queue().enqueue(
        "nodes.jobs.check_domain_definition",
        node.pk,
        domain_xml,
        job_id=job_id,
        job_timeout=settings.KUMO_PROBE_TIMEOUT + 30,
        result_ttl=600,
        description=f"Check a domain definition on node {node.name}",
    )
    return job_id


def definition_check(job_id):
    """{"status", "ok", "message"} of a check queued by request_definition_check, or None
    when there is no such check (or it expired)."""
    require_queue()
    job = job_queue().fetch_job(job_id) if job_id.startswith(CHECK_JOB_PREFIX) else None
    if job is None:
        return None
    status = job.get_status().value
    if status == "finished":
        return {"status": status, **job.return_value()}
    if status in ("failed", "stopped", "canceled"):
        message = "The check did not finish (the worker failed); see the worker log."
        return {"status": "failed", "ok": False, "message": message}
    return {"status": status, "ok": None, "message": f"Waiting for a worker ({status})."}


CONSOLE_OUTPUT_FRESH = timedelta(seconds=2)  # a copy this recent is not read again


def is_recent(console_output):
    return console_output is not None and (
        timezone.now() - console_output.fetched_at < CONSOLE_OUTPUT_FRESH
    )


def console_output(instance):
    """(the last copy read of the instance's console output or None, whether a fresh read
    was queued). Requests never wait for it: they ask again (pages poll)."""
    stored = ConsoleOutput.objects.filter(instance=instance).first()
    if is_recent(stored):
        return stored, False
    if instance.node_id is None or instance.vm_state == VmState.DELETED or not redis_is_reachable():
        return stored, False
    job_id = f"console-output-{instance.pk}"  # one read at a time per instance
    pending = job_queue().fetch_job(job_id)
    if pending is not None and pending.get_status() in ("queued", "started"):
        return stored, True
    description = f"Read the console output of {instance.ec2_id}"
    enqueue_node_job("read_console_output", instance.pk, job_id, description)
    return stored, True


class ActionRefused(Exception):
    """The action is not allowed in the instance's current state (HTTP 409)."""


def claim(instance, kind):
    """The compare-and-set of DESIGN.md §4: set the task if the instance is in a state that
    allows kind, with no task or one that kind may take over (states.INTERRUPTS)."""
    free = Q(task_state__isnull=True) | Q(task_state__in=states.INTERRUPTS.get(kind, ()))
    rows = Instance.objects.filter(free, pk=instance.pk, vm_state__in=states.ALLOWED_FROM[kind])
    return rows.update(task_state=states.TASK_FOR.get(kind)) == 1


def queue_action(instance, kind, user, snapshot=None):
    """Record an Action and enqueue its job (after the transaction commits)."""
    action = Action.objects.create(
        instance=instance,
        kind=kind,
        owner=user,
        snapshot=snapshot,
        job_id=f"action-{uuid.uuid4().hex}",
    )
    enqueue_action(action)
    return action


def enqueue_action(action):
    job_queue().enqueue(
        "nodes.jobs.run_action",
        action.pk,
        job_id=action.job_id,
        job_timeout=3600,
        description=f"{action.get_kind_display()} {action.instance.ec2_id}",
    )


def request_action(instance, kind, user, snapshot=None):
    """Start kind on instance for user; the Action, or ActionRefused / PermissionDenied /
    QueueUnavailable with nothing written. Revert and delete name one of its snapshots."""
    if kind in states.ADMIN_ONLY and not user.is_staff:
        raise PermissionDenied("Only admins can reset an instance's state.")
    if (kind in states.ON_SNAPSHOT) != (snapshot is not None):
        raise ActionRefused(f"{ActionKind(kind).label} names one of the instance's snapshots.")
    require_queue()
    with transaction.atomic():
        if not claim(instance, kind):
            instance.refresh_from_db(fields=["vm_state", "task_state"])
            raise ActionRefused(states.refusal(instance, kind))
        if kind in states.CHANGES_CONSOLE:
            consoles.revoke_tokens(instance)
        return queue_action(instance, kind, user, snapshot)


def adopt(user, unmanaged, owner, image, instance_type):
    """Make an unmanaged domain a Kumo instance of owner; the adopt action does the rest."""
    require_queue()
    with transaction.atomic():
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


class QuotaExceeded(Exception):
    """The launch would take the user past a limit; nothing was written."""


def check_quota(user, count, instance_type):
    """Within the caller's transaction, with the user's row locked: one launch at a time per
    user, so that simultaneous launches cannot overshoot."""
    if user.is_staff:
        return
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    limits, used = Quota.of(user).limits(), usage(user)
    wanted = {
        "instances": count,
        "vcpus": count * instance_type.vcpus,
        "ram_mb": count * instance_type.memory_mb,
    }
    over = [
        f"{LABELS[key]}: {used[key]} in use + {wanted[key]} > {limits[key]}"
        for key in limits
        if used[key] + wanted[key] > limits[key]
    ]
    if over:
        raise QuotaExceeded("This launch would exceed your quota (" + "; ".join(over) + ").")


LABELS = {"instances": "instances", "vcpus": "vCPUs", "ram_mb": "RAM (MiB)"}


def launch(user, count=1, **fields):
    """Create count instances (one reservation) and queue their launches, atomically, within
    the user's quota."""
    require_queue()
    with transaction.atomic():
        check_quota(user, count, fields["instance_type"])
        reservation = new_ec2_id("r", Instance, field="reservation_id")
        launched = []
        for index in range(count):
            keypair = fields.get("keypair")
            instance = Instance.objects.create(
                key_name=keypair.name if keypair else "",
                public_key=keypair.public_key if keypair else "",
                owner=user,
                reservation_id=reservation,
                launch_index=index,
                task_state=states.TASK_FOR[ActionKind.LAUNCH],
                **fields,
            )
            launched.append((instance, queue_action(instance, ActionKind.LAUNCH, user)))
    return launched


MAX_USER_DATA = 16 * 1024


class LaunchInvalid(ValueError):
    """Launch input that cannot be used; `field` names the input."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def encoded_user_data(text):
    """User data as EC2 stores it (base64), at most 16 KiB of text (bytes must be UTF-8)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise LaunchInvalid(
                "user_data", "User data must be text (UTF-8), not binary."
            ) from error
    if "\x00" in text:
        raise LaunchInvalid("user_data", "User data must be text (UTF-8), not binary.")
    if reason := incompatibility(text, "The user data"):
        raise LaunchInvalid("user_data", reason)
    raw = text.encode()
    if len(raw) > MAX_USER_DATA:
        raise LaunchInvalid(
            "user_data", f"User data is limited to 16 KiB ({len(raw)} bytes given)."
        )
    return base64.b64encode(raw).decode()


def launch_cluster(cluster, node):
    """The cluster to launch in: the given one, the node's, or the only one with nodes."""
    if node and cluster and node.cluster_id != cluster.pk:
        raise LaunchInvalid("node", f"Node {node.name} is not in cluster {cluster.name}.")
    cluster = cluster or (node.cluster if node else None)
    if cluster is None:
        clusters = Cluster.objects.filter(nodes__isnull=False).distinct()
        if clusters.count() != 1:
            raise LaunchInvalid("cluster", "Choose the cluster to launch in.")
        cluster = clusters.get()
    return cluster
