"""Hooks (Eucalyptus nc-hooks): sorted, with the event and a path; pre-boot may rewrite the
domain XML; a failing or hanging hook stops the step with a clear error."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from nodes import operations
from nodes.hooks import HookFailed, run_hooks
from nodes.models import Image, InstanceType
from tests.conftest import database_url_for_tests


def hook(folder, name, body):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def hooks_dir(tmp_path, settings):
    folder = tmp_path / "hooks"
    folder.mkdir()
    settings.KUMO_HOOKS_DIR = str(folder)
    return folder


def test_hooks_run_in_name_order_with_event_and_path(hooks_dir, tmp_path):
    log = tmp_path / "log"
    hook(hooks_dir, "20-second", f'echo "second $1 $2" >> {log}\n')
    hook(hooks_dir, "10-first", f'echo "first $1 $2" >> {log}\n')
    (hooks_dir / "30-not-executable").write_text("#!/bin/sh\nexit 1\n")
    run_hooks("pre-clean", "/var/lib/kumo/instances/i-1")
    assert log.read_text().splitlines() == [
        "first pre-clean /var/lib/kumo/instances/i-1",
        "second pre-clean /var/lib/kumo/instances/i-1",
    ]


def test_a_failing_hook_reports_its_stderr(hooks_dir):
    hook(hooks_dir, "10-no", 'echo "the SAN is offline" >&2\nexit 3\n')
    with pytest.raises(HookFailed, match=r"Hook 10-no \(pre-boot\) failed: the SAN is offline"):
        run_hooks("pre-boot", "/tmp/x.xml")


def running(pid):
    """A process that exists and is not a zombie waiting to be reaped."""
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


def test_a_hanging_hook_is_killed_at_its_timeout_with_what_it_started(
    hooks_dir, settings, tmp_path
):
    settings.KUMO_HOOK_TIMEOUT = 1
    pid_file = tmp_path / "sleeper.pid"
    hook(hooks_dir, "10-hang", f"sleep 30 &\necho $! > {pid_file}\nwait\n")
    started = time.monotonic()
    with pytest.raises(HookFailed, match="did not finish within 1 s and was killed"):
        run_hooks("pre-adopt", "/tmp/x.xml")
    assert time.monotonic() - started < 3
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while running(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(sleeper)


@pytest.fixture
def launch(demo_sim, member_a, queue, run_jobs, django_capture_on_commit_callbacks):
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            [(instance, action)] = operations.launch(
                member_a,
                image=Image.objects.get(kind="machine"),
                instance_type=InstanceType.objects.get(name="m1.small"),
                cluster=demo_sim.cluster,
            )
        run_jobs()
        instance.refresh_from_db()
        action.refresh_from_db()
        return instance, action

    return run


def test_a_pre_boot_hook_may_rewrite_the_domain_xml(hooks_dir, launch):
    hook(
        hooks_dir,
        "10-describe",
        'sed -i "s|<description>[^<]*</description>|<description>hooked</description>|" "$2"\n',
    )
    instance, action = launch()
    assert action.status == "succeeded", action.error
    assert "<description>hooked</description>" in instance.domain_xml


def test_a_failing_pre_boot_hook_fails_the_launch_with_its_message(hooks_dir, launch):
    hook(hooks_dir, "10-veto", 'echo "no launches on Fridays" >&2\nexit 1\n')
    instance, action = launch()
    assert action.status == "failed" and "no launches on Fridays" in action.error
    assert (instance.vm_state, instance.task_state) == ("error", None)


@pytest.mark.django_db(transaction=True)
def test_post_init_hooks_run_when_the_console_starts(hooks_dir, tmp_path):
    log = tmp_path / "log"
    hook(hooks_dir, "10-started", f'echo "$1 $2" >> {log}\n')
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_tests(),
        "KUMO_HOOKS_DIR": str(hooks_dir),
    }
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "runwatcher"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(10)
    assert log.read_text() == f"post-init {settings.BASE_DIR}\n"
