"""Draining a node (maintenance mode, admins): no placements on it while a job moves its
instances away one by one (nodes/draining.py); back in service ends it."""

import uuid

from django.db import transaction
from django.utils import timezone

from nodes.models import Node
from nodes.operations.errors import ActionRefused
from nodes.operations.migration import refuse_unless_admin
from nodes.operations.queue import job_queue, require_queue

DRAIN_TIMEOUT_S = 24 * 3600  # one migration after the other: as long as they take


def drain(node, user):
    """Put node in maintenance and queue the job that moves its instances away: the job's
    id, or Refused with nothing written."""
    refuse_unless_admin(user)
    require_queue()
    job_id = f"drain-{uuid.uuid4().hex}"
    report = {"by": user.username, "started_at": timezone.now().isoformat(), "job_id": job_id}
    with transaction.atomic():
        rows = Node.objects.filter(pk=node.pk, draining=False)
        if not rows.update(draining=True, drain_report=report | {"moved": [], "left": []}):
            raise ActionRefused(
                f"{node.name} is draining already: put it back in service to drain it again."
            )
        job_queue().enqueue(  # once the transaction commits (settings.RQ)
            "nodes.draining.drain_node",
            node.pk,
            user.pk,
            job_id=job_id,
            job_timeout=DRAIN_TIMEOUT_S,
            description=f"Drain {node.name}",
        )
    return job_id


def undrain(node, user):
    """Back in service: placements may choose it again; a drain still moving instances
    stops before the next one."""
    refuse_unless_admin(user)
    Node.objects.filter(pk=node.pk).update(draining=False)
