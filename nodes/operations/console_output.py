"""The console output of an instance (EC2's GetConsoleOutput): the copy last read, and a
fresh read queued when it is not recent."""

from datetime import timedelta

from django.utils import timezone

from nodes.choices import VmState
from nodes.models import ConsoleOutput
from nodes.operations.queue import enqueue_node_job, job_queue, redis_is_reachable

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
