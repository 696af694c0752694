"""Launching instances: the user's quota, the reservation, one launch action per instance;
and the launch input the form and the API check alike (user data, the cluster)."""

import base64

from django.contrib.auth import get_user_model
from django.db import transaction

from nodes import states
from nodes.choices import ActionKind
from nodes.ids import new_ec2_id
from nodes.models import Cluster, Instance, Quota
from nodes.models.quotas import usage
from nodes.operations.actions import queue_action
from nodes.operations.errors import LaunchInvalid, QuotaExceeded
from nodes.operations.queue import require_queue
from nodes.xmltext import incompatibility


def check_quota(user, count, instance_type):
    """The quota check of a launch of count instances of instance_type."""
    wanted = {
        "instances": count,
        "vcpus": count * instance_type.vcpus,
        "ram_mb": count * instance_type.memory_mb,
    }
    check_within_quota(user, wanted, "This launch")


def check_within_quota(user, wanted, what):
    """Within the caller's transaction, with the user's row locked: one request at a time
    per user, so that simultaneous ones cannot overshoot. wanted: {quota key: more}."""
    if user.is_staff:
        return
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    limits, used = Quota.of(user).limits(), usage(user)
    over = [
        f"{LABELS[key]}: {used[key]} in use + {more} > {limits[key]}"
        for key, more in wanted.items()
        if used[key] + more > limits[key]
    ]
    if over:
        raise QuotaExceeded(f"{what} would exceed your quota (" + "; ".join(over) + ").")


LABELS = {
    "instances": "instances",
    "vcpus": "vCPUs",
    "ram_mb": "RAM (MiB)",
    "volumes": "volumes",
    "volume_gib": "volume size (GiB)",
}


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
