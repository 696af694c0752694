"""A live migration that a fault cuts short: the destination's daemon going down, the
worker killed, the source's daemon restarted. Each leaves the instance running where it
was, recorded there, and never running on both nodes. And TLS asked of nodes that lack it."""

import os
import signal
from pathlib import Path

import pytest

from nodes.models import Instance
from nodes.watcher import recover_stale_actions
from tests.conftest import wait_for
from tests.libvirtd import FIRST
from tests.test_migration import domain_power, migrate, migrating

QEMU = pytest.mark.django_db(transaction=True)


def start_slow_migration(api, instance):
    """A live migration to local-2 at 1 MiB/s: it runs long enough to be cut short."""
    response = migrate(api, instance, node="local-2", max_speed_mib_s=1)
    assert response.status_code == 202, response.json()
    return instance.actions.get(kind="migrate")


def ended(action):
    return wait_for(lambda: action.refresh_from_db() or action.finished, 60)


def assert_still_on_the_source(instance, local, local_2):
    instance = Instance.objects.get(pk=instance.pk)
    assert (instance.node, instance.vm_state, instance.task_state) == (local, "active", None)
    assert domain_power(local, instance) == "running"
    assert wait_for(lambda: domain_power(local_2, instance) == "nostate", 30)


@QEMU
def test_a_destination_that_goes_down_mid_way_leaves_it_running_on_the_source(
    installer, local_2, api, worker_soon, second_daemon
):
    action = start_slow_migration(api, installer)
    worker_soon(0)
    assert wait_for(lambda: migrating(action), 60), (action.status, action.error)
    second_daemon.process.send_signal(signal.SIGTERM)
    second_daemon.process.wait(20)
    try:
        assert ended(action)
        assert action.status == "failed" and "migration failed" in action.error.lower()
    finally:
        second_daemon.spawn()  # back up on the state it had: it clears the half-arrived guest
        second_daemon.warm_up()
    assert_still_on_the_source(installer, installer.node, local_2)


@QEMU
def test_a_worker_killed_mid_way_leaves_it_running_on_the_source(
    installer, local_2, api, worker_process, tmp_path
):
    action = start_slow_migration(api, installer)
    worker = worker_process(tmp_path)
    assert wait_for(lambda: migrating(action), 60), (action.status, action.error)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    recover_stale_actions()
    action.refresh_from_db()
    assert action.status == "failed" and "worker running this action stopped" in action.error
    assert_still_on_the_source(installer, installer.node, local_2)


@QEMU
def test_the_source_daemon_restarted_mid_way_leaves_it_running_on_the_source(
    installer, local_2, api, worker_soon
):
    action = start_slow_migration(api, installer)
    worker_soon(0)
    assert wait_for(lambda: migrating(action), 60), (action.status, action.error)
    FIRST.restart()
    assert ended(action)
    assert action.status == "failed", action.error
    assert_still_on_the_source(installer, installer.node, local_2)


@pytest.mark.skipif(
    Path("/etc/pki/qemu/ca-cert.pem").exists(), reason="this machine has QEMU's TLS set up"
)
@QEMU
def test_tls_asked_of_nodes_without_certificates_fails_before_anything_moves(
    installer, local_2, api, run_jobs, settings
):
    settings.KUMO_MIGRATION_TLS = True
    assert migrate(api, installer, node="local-2").status_code == 202
    run_jobs()
    action = installer.actions.get(kind="migrate")
    assert action.status == "failed"
    assert "Unable to access credentials /etc/pki/qemu/ca-cert.pem" in action.error
    assert_still_on_the_source(installer, installer.node, local_2)
