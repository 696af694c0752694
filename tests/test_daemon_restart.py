"""The libvirt daemon restarted under Kumo: an action in flight ends failed with a clear
reason and leaves the instance usable; the watcher reconnects by itself."""

import os
import shutil
import subprocess
import threading
import time

import pytest

from nodes import operations
from nodes.choices import ActionKind
from nodes.jobs import run_action
from nodes.models import Image, InstanceType
from nodes.watcher import Watcher

pytestmark = pytest.mark.django_db(transaction=True)


def restart_libvirtd():
    """Restart the daemon the way scripts/services.sh started it (root, no systemd)."""
    if os.geteuid() != 0 or os.path.isdir("/run/systemd/system"):
        pytest.skip("restarts libvirtd only as root without systemd, as make test starts it")
    subprocess.run(["pkill", "-TERM", "-x", "libvirtd"], check=False)
    deadline = time.monotonic() + 20
    while subprocess.run(["pgrep", "-x", "libvirtd"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "libvirtd did not stop"
        time.sleep(0.1)
    subprocess.run([shutil.which("libvirtd"), "-d"], check=True)
    while subprocess.run(
        ["virsh", "-c", "test+unix:///default", "version"], capture_output=True
    ).returncode:
        assert time.monotonic() < deadline, "libvirtd did not come back"
        time.sleep(0.2)


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
    restart_libvirtd()  # while the pre-boot hook runs
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
