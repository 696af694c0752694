"""The watcher: events from outside Kumo, reconciliation, and recovery when a worker dies.
Conflicting requests: exactly one wins."""

import os
import signal
import subprocess
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from nodes import operations
from nodes.choices import ActionKind
from nodes.libvirt import Hypervisor
from nodes.models import Action, Image, Instance, InstanceType, Node
from nodes.watcher import Watcher, reconcile, recover_stale_actions, sync_power
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def running(launched_on_sim):
    return launched_on_sim


def virsh(instance, command):
    """An admin's virsh, from outside Kumo."""
    subprocess.run(["virsh", "-c", instance.node.uri, command, str(instance.uuid)], check=True)


def destroy_from_outside(instance):
    virsh(instance, "destroy")


@pytest.mark.parametrize(
    "command",
    ["destroy", "shutdown"],  # the test driver's guest powers off at once when asked
)
def test_a_power_off_from_outside_shows_within_2_seconds(running, command):
    watcher = Watcher()
    watcher.listen()
    started = time.monotonic()
    virsh(running, command)

    def stopped():
        running.refresh_from_db()
        return running.power_state == "shutoff"

    assert wait_for(stopped, 2), f"power_state still {running.power_state}"
    assert time.monotonic() - started < 2
    assert running.vm_state == "stopped"
    for events in watcher.events.values():
        events.close()


def test_reconciliation_catches_a_missed_event(running):
    destroy_from_outside(running)
    reconcile(running.node)
    running.refresh_from_db()
    assert (running.power_state, running.vm_state) == ("shutoff", "stopped")


def test_a_busy_instance_is_left_to_its_action(running):
    Instance.objects.filter(pk=running.pk).update(task_state="rebooting_hard")
    sync_power(running.node, str(running.uuid), "shutoff")
    running.refresh_from_db()
    assert (running.power_state, running.vm_state) == ("running", "active")


def test_a_power_state_seen_on_another_node_is_not_the_instances(running):
    elsewhere = Node.objects.create(cluster=running.cluster, name="elsewhere", uri="test:///x")
    sync_power(elsewhere, str(running.uuid), "shutoff")  # a moved domain's old copy, say
    running.refresh_from_db()
    assert (running.power_state, running.vm_state) == ("running", "active")


def test_a_domain_running_on_another_node_than_recorded_is_followed(running):
    sim = running.node
    recorded = Node.objects.create(cluster=running.cluster, name="before", uri="test:///x")
    Instance.objects.filter(pk=running.pk).update(node=recorded, vm_state="error")
    reconcile(sim)  # the domain runs on sim (a worker died as its migration ended)
    running.refresh_from_db()
    assert (running.node, running.vm_state, running.power_state) == (sim, "active", "running")


def test_twenty_conflicting_requests_start_exactly_one_action(running, member_a):
    outcomes = []

    def request(kind):
        try:
            operations.request_action(Instance.objects.get(pk=running.pk), kind, member_a)
            outcomes.append("started")
        except operations.ActionRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    kinds = [ActionKind.STOP, ActionKind.PAUSE, ActionKind.REBOOT, ActionKind.SNAPSHOT] * 5
    threads = [threading.Thread(target=request, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("started") == 1 and outcomes.count("refused") == 19
    assert Action.objects.filter(instance=running).exclude(kind="launch").count() == 1


def pre_boot_hook(folder, seconds):
    """A pre-boot hook that takes `seconds`: a window in which an action is mid-flight."""
    folder.mkdir()
    hook = folder / "10-slow"
    hook.write_text(f"#!/bin/sh\nsleep {seconds}\n")
    hook.chmod(0o755)
    return folder


def in_pre_boot_hook(action):
    action.refresh_from_db()
    return any(step["name"] == "Render the domain XML" for step in action.steps)


def test_a_worker_killed_mid_action_is_detected_and_the_instance_freed(
    running, member_a, worker_process, tmp_path, settings
):
    settings.KUMO_HOOKS_DIR = str(pre_boot_hook(tmp_path / "hooks", 30))
    worker = worker_process(settings.KUMO_HOOKS_DIR)
    action = operations.request_action(running, ActionKind.HARD_REBOOT, member_a)
    assert wait_for(lambda: in_pre_boot_hook(action), 20), "the worker never reached the hook"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    recover_stale_actions()
    action.refresh_from_db()
    running.refresh_from_db()
    assert action.status == "failed" and "worker running this action stopped" in action.error
    assert running.task_state is None
    assert operations.claim(running, ActionKind.HARD_REBOOT)  # usable again


def test_terminate_waits_for_the_action_it_interrupts_and_leaves_nothing_behind(
    running, member_a, worker_process, tmp_path, run_jobs
):
    worker_process(pre_boot_hook(tmp_path / "hooks", 3))
    reboot = operations.request_action(running, ActionKind.HARD_REBOOT, member_a)
    assert wait_for(lambda: in_pre_boot_hook(reboot), 20), "the worker never reached the hook"
    terminate = operations.request_action(running, ActionKind.TERMINATE, member_a)
    run_jobs()  # in this process, while the other worker's hook still runs
    reboot.refresh_from_db()
    terminate.refresh_from_db()
    assert reboot.status == "failed" and "took this instance over" in reboot.error
    assert not any(step["name"] == "Define the domain" for step in reboot.steps)
    assert terminate.status == "succeeded", terminate.error
    assert terminate.steps[0]["name"] == "Wait for the interrupted action to stop"
    with Hypervisor(running.node.endpoint(), 10) as hypervisor:
        assert hypervisor.domain(running.uuid) is None


def test_a_queued_action_whose_job_was_lost_is_failed_and_the_instance_freed(
    running, member_a, demo_sim, queue
):
    reboot = operations.request_action(running, ActionKind.HARD_REBOOT, member_a)
    [(building, launch)] = operations.launch(
        member_a,
        image=Image.objects.get(kind="machine"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        cluster=demo_sim.cluster,
    )
    queue.connection.flushdb()  # Redis restarted without its data
    recover_stale_actions()
    assert Action.objects.get(pk=reboot.pk).status == "queued"  # a minute's grace
    an_hour_ago = timezone.now() - timezone.timedelta(hours=1)
    Action.objects.filter(pk__in=[reboot.pk, launch.pk]).update(created_at=an_hour_ago)
    recover_stale_actions()
    for action in (reboot, launch):
        action.refresh_from_db()
        assert action.status == "failed" and "lost from the queue" in action.error
    running.refresh_from_db()
    building.refresh_from_db()
    assert (running.vm_state, running.task_state) == ("active", None)
    assert (building.vm_state, building.task_state) == ("error", None)


def test_an_action_carried_out_inside_a_drain_lives_as_long_as_the_drain_job(
    running, member_a, queue
):
    queue.enqueue("nodes.draining.drain_node", 0, 0, job_id="drain-test")
    inside = Action.objects.create(
        instance=running,
        kind=ActionKind.MIGRATE,
        owner=member_a,
        status="running",
        job_id=Action.inside("drain-test"),
    )
    recover_stale_actions()
    assert Action.objects.get(pk=inside.pk).status == "running"
    queue.connection.flushdb()  # the drain's job is gone
    recover_stale_actions()
    assert Action.objects.get(pk=inside.pk).status == "failed"
