"""rq entry points. Each takes a row id, reloads the row and does the libvirt work."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nodes import downloads, migrating, resizing, runners
from nodes.choices import DomainType
from nodes.hooks import HookFailed
from nodes.image_files import NotTheImage
from nodes.libvirt import Hypervisor, NodeError, Storage, check_definition
from nodes.libvirt.consoles import console_log_tail
from nodes.models import Action, ConsoleOutput, Instance, Node
from nodes.placement import PlacementFailed
from nodes.probing import probe_and_record
from nodes.storage import runners as volume_runners

log = logging.getLogger(__name__)
RUNNERS = (
    runners.RUNNERS
    | volume_runners.RUNNERS
    | migrating.RUNNERS
    | resizing.RUNNERS
    | downloads.RUNNERS
)
EXPECTED = (NodeError, HookFailed, PlacementFailed, downloads.DownloadFailed, NotTheImage)


def probe_node(node_id):
    """The "Check connection" job."""
    node = Node.objects.filter(pk=node_id).first()
    if node is None:
        return "node deleted"
    return "up" if probe_and_record(node) else "down"


def check_domain_definition(node_id, domain_xml):
    """Ask the node's libvirt whether it accepts domain_xml (defined under a throw-away name,
    then undefined): {"ok", "message"} for the rule editor's "Check with libvirt"."""
    node = Node.objects.filter(pk=node_id).first()
    if node is None:
        return {"ok": False, "message": "The node was deleted."}
    try:
        check_definition(node.endpoint(), domain_xml, settings.KUMO_PROBE_TIMEOUT)
    except NodeError as error:
        return {"ok": False, "message": str(error)}
    return {"ok": True, "message": f"libvirt on {node.name} accepts this domain."}


def read_console_output(instance_id):
    """Store the last 64 KiB of the instance's serial log, read through its node's libvirt
    (a volume of the instance's pool, so remote nodes work alike)."""
    instance = Instance.objects.select_related("node").filter(pk=instance_id).first()
    if instance is None or instance.node is None:
        return "no node"
    output, truncated = b"", False
    node = instance.node
    if node.domain_type != DomainType.TEST:  # the test driver keeps no console log
        with Hypervisor(node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as hypervisor:
            output, truncated = console_log_tail(
                Storage(hypervisor),
                instance.pool_name,
                instance.directory,
                ConsoleOutput.LIMIT,
            )
    ConsoleOutput.objects.update_or_create(
        instance=instance,
        defaults={
            "output": output.decode(errors="replace"),
            "truncated": truncated,
            "fetched_at": timezone.now(),
        },
    )
    return f"{len(output)} bytes"


def failed(run, error):
    """Record that run's action failed and release what it held, in one transaction: no
    one sees the action failed while its instance still has the task."""
    with transaction.atomic():
        run.action.fail(error)
        runners.after_failure(run)


def run_action(action_id):
    """Carry out one Action; its outcome is recorded on the row, never only in rq."""
    related = [
        "instance__node__cluster",
        "instance__cluster",
        "instance__image",
        "instance__kernel",
        "instance__ramdisk",
        "instance__instance_type",
        "instance__owner",
        "instance__keypair",
        "image",
        "volume__node",
        "volume_snapshot__node",
    ]
    action = Action.objects.select_related(*related).filter(pk=action_id).first()
    if action is None or action.finished:
        return "nothing to do"
    action.mark_running()
    run = runners.Run(action) if action.instance_id else volume_runners.VolumeRun(action)
    try:
        run.ensure_ours()  # taken over while the job waited in the queue?
        RUNNERS[action.kind](run)
    except runners.Preempted as error:
        with transaction.atomic():
            action.fail(str(error))
            action.undo_unfinished()
    except EXPECTED as error:
        failed(run, str(error))
    except Exception as error:
        log.exception("action %s failed", action.pk)
        failed(
            run, f"Kumo failed unexpectedly ({type(error).__name__}: {error}); see the worker log."
        )
    else:
        action.succeed()
    return action.status
