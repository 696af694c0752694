"""An instance's diagnostics, as `nova diagnostics` gives them: the copy last read, and a
fresh read queued for a worker (nodes/metrics/jobs.py). Pages and the API never wait on a
node: they show the copy and ask again."""

import uuid

from django.db import transaction

from nodes.metrics.models import Diagnostics
from nodes.operations import ActionRefused, enqueue_node_job, require_queue
from nodes.states import LIVE_POWER


def last_copy(instance):
    """The diagnostics last read, or an unsaved empty copy when none was ever asked for (a
    read writes nothing)."""
    return Diagnostics.objects.filter(instance=instance).first() or Diagnostics(instance=instance)


def request_diagnostics(instance):
    """Queue a fresh read of instance's diagnostics; its Diagnostics, now waiting. Refused
    (ActionRefused, QueueUnavailable) with nothing written when it cannot be read."""
    if instance.node_id is None or instance.power_state not in LIVE_POWER:
        raise ActionRefused(
            f"{instance.ec2_id} is not running ({instance.get_power_state_display().lower()}):"
            " diagnostics are read from a running domain. Start it, then refresh."
        )
    require_queue()
    with transaction.atomic():
        diagnostics, _created = Diagnostics.objects.get_or_create(instance=instance)
        diagnostics.request()
        enqueue_node_job(
            "read_diagnostics",
            instance.pk,
            f"diagnostics-{instance.pk}-{uuid.uuid4().hex[:12]}",
            f"Read the diagnostics of {instance.ec2_id}",
            module="nodes.metrics.jobs",
        )
    return diagnostics
