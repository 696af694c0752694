"""Hooks (Eucalyptus nc-hooks): sorted, with the event and a path; pre-boot may rewrite the
domain XML; a failing or hanging hook stops the step with a clear error."""

import pytest

from nodes import operations
from nodes.hooks import HookFailed, run_hooks
from nodes.models import Image, InstanceType


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


def test_a_hanging_hook_is_killed_at_its_timeout(hooks_dir, settings):
    settings.KUMO_HOOK_TIMEOUT = 1
    hook(hooks_dir, "10-hang", "sleep 30\n")
    with pytest.raises(HookFailed, match="did not finish within 1 s and was killed"):
        run_hooks("pre-adopt", "/tmp/x.xml")


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
