"""The libvirt daemon restarted under Kumo: an action in flight ends failed with a clear
reason and leaves the instance usable; the watcher reconnects by itself."""

import threading
import time

import pytest

from nodes import operations
from nodes.choices import ActionKind
from nodes.jobs import run_action
from nodes.models import Image, InstanceType
from nodes.watcher import Watcher
from tests.libvirtd import FIRST

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_pre_boot(tmp_path, settings):
    hook = tmp_path / "10-slow"
    hook.write_text("#!/bin/sh\nsleep 3\n")
    hook.chmod(0o755)
    settings.KUMO_HOOKS_DIR = str(tmp_path)


def test_a_restart_mid_action_fails_it_clearly_and_the_watcher_reconnects(
    demo_sim, member_a, queue, run_jobs, slow_pre_boot
):
    [(instance, _)] = operations.launch(
        member_a,
        image=Image.objects.get(kind="machine"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        cluster=demo_sim.cluster,
    )
    run_jobs()  # the hook sleeps 3 s here too
    watcher = Watcher()
    watcher.listen()
    assert all(events.connected for events in watcher.events.values())

    action = operations.request_action(instance, ActionKind.HARD_REBOOT, member_a)
    job = threading.Thread(target=run_action, args=(action.pk,))
    job.start()
    while not any(step["name"] == "Render the domain XML" for step in action.steps):
        time.sleep(0.05)
        action.refresh_from_db()
    FIRST.restart()  # the tests' own daemon, by its pid, while the pre-boot hook runs
    job.join()

    action.refresh_from_db()
    instance.refresh_from_db()
    assert action.status == "failed"
    assert "dropped (was it restarted?)" in action.error
    assert instance.task_state is None  # usable again

    deadline = time.monotonic() + 10
    while not all(events.connected for events in watcher.events.values()):
        assert time.monotonic() < deadline, [e.last_error for e in watcher.events.values()]
        time.sleep(0.2)
        watcher.listen()
    for events in watcher.events.values():
        events.close()
