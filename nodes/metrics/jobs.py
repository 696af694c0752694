"""rq entry points of the metrics app. Each takes a row id, reloads the row and does the
libvirt work."""

import logging

from django.conf import settings
from django.utils import timezone

from nodes.choices import ActionKind, ActionStatus
from nodes.libvirt import Hypervisor, NodeError
from nodes.metrics.models import Diagnostics

log = logging.getLogger(__name__)

# The actions after which the guest has booted afresh, and those after which Kumo cannot
# say when it booted: its memory was restored (resume, revert), it was running before Kumo
# took it over (adopt), or Kumo lost track of it (reset state). Uptime is counted from the
# last of them that succeeded, if it is a boot (docs/metrics.md#diagnostics).
BOOTS = {ActionKind.LAUNCH, ActionKind.START, ActionKind.REBOOT, ActionKind.HARD_REBOOT}
NOT_BOOTS = {
    ActionKind.STOP,
    ActionKind.SUSPEND,
    ActionKind.RESUME,
    ActionKind.REVERT_SNAPSHOT,
    ActionKind.ADOPT,
    ActionKind.RESET_STATE,
}


def read_diagnostics(instance_id):
    """Read the instance's diagnostics from its node and keep them; when the node fails,
    keep its message in `error`, beside the last good copy."""
    diagnostics = (
        Diagnostics.objects.select_related("instance__node").filter(instance_id=instance_id).first()
    )
    if diagnostics is None:
        return "nothing requested"
    instance = diagnostics.instance
    try:
        data = read_from_node(instance)
    except NodeError as error:
        diagnostics.record_failure(str(error))
        return "failed"
    except Exception as error:
        log.exception("reading the diagnostics of %s failed", instance.ec2_id)
        diagnostics.record_failure(
            f"Kumo failed unexpectedly ({type(error).__name__}: {error}); see the worker log."
        )
        return "failed"
    taken_at = timezone.now()
    diagnostics.record({**data, **uptime(instance, taken_at)}, taken_at)
    return "read"


def read_from_node(instance):
    if instance.node is None:
        raise NodeError(f"{instance.ec2_id} was never placed on a node.")
    with Hypervisor(instance.node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as hypervisor:
        return hypervisor.diagnostics(instance.uuid)


def uptime(instance, now):
    """{"booted_at", "uptime"} (seconds) since Kumo last booted the instance, or None for
    both when the last change to its power was not a boot by Kumo."""
    last = (
        instance.actions.filter(status=ActionStatus.SUCCEEDED, kind__in=BOOTS | NOT_BOOTS)
        .order_by("-finished_at")
        .first()
    )
    if last is None or last.kind not in BOOTS:
        return {"booted_at": None, "uptime": None}
    return {
        "booted_at": last.finished_at.isoformat(),
        "uptime": int((now - last.finished_at).total_seconds()),
    }
