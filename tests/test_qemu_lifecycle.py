"""A real QEMU (TCG) instance on the tests' own daemon: boot the Debian installer kernel and initrd
with boot parameters from the user data, read the serial log, and walk the lifecycle."""

from pathlib import Path

import pytest

from nodes import configdrive, operations
from nodes.choices import ActionKind
from nodes.libvirt import Hypervisor
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def serial_log(instance):
    return Path(instance.node.instances_path, instance.ec2_id, "console.log")


def wait_for_text(path, text, seconds):
    return wait_for(lambda: path.exists() and text in path.read_text(errors="replace"), seconds)


def banners(instance):
    """How many times the kernel has booted, by its banners on the serial log."""
    return serial_log(instance).read_text(errors="replace").count("Linux version")


def test_a_stop_resends_the_acpi_request_until_its_timeout(installer, monkeypatch):
    """The installer ignores ACPI: the request is sent again every resend_every seconds."""
    import libvirt

    sent = []
    real = libvirt.virDomain.shutdown
    monkeypatch.setattr(libvirt.virDomain, "shutdown", lambda d: sent.append(1) or real(d))
    with Hypervisor(installer.node.endpoint(), 10) as hypervisor:
        off = hypervisor.shutdown(installer.uuid, timeout=3.5, resend_every=1)
    assert not off and len(sent) == 4


def act(instance, kind, user, run_jobs):
    action = operations.request_action(instance, kind, user)
    run_jobs()
    action.refresh_from_db()
    instance.refresh_from_db()
    assert action.status == "succeeded", f"{kind}: {action.error}"
    return action


def test_the_installer_boots_with_the_boot_parameters(installer):
    assert (installer.vm_state, installer.power_state) == ("active", "running")
    assert "priority=critical kumo-test=1" in installer.domain_xml
    assert "ephemeral.qcow2" in installer.domain_xml  # m1.medium has a 1 GiB ephemeral disk
    assert Path(installer.node.instances_path, installer.ec2_id, "ephemeral.qcow2").exists()
    label, files = configdrive.read(
        Path(installer.node.instances_path, installer.ec2_id, "config.iso").read_bytes()
    )
    assert label == "cidata" and installer.keypair.public_key in files["meta-data"].decode()
    assert b"bootparams=priority=critical" in files["user-data"]
    assert wait_for_text(serial_log(installer), "Linux version", 60), (
        "no kernel banner on the serial log"
    )
    assert wait_for_text(serial_log(installer), "kumo-test=1", 5)


def test_the_lifecycle_on_a_real_domain(installer, admin, run_jobs):
    assert wait_for_text(serial_log(installer), "Linux version", 60)
    stop = act(installer, ActionKind.STOP, admin, run_jobs)
    assert installer.power_state == "shutoff" and installer.vm_state == "stopped"
    assert any("Force it off" in step["name"] for step in stop.steps)  # the installer ignores ACPI
    act(installer, ActionKind.START, admin, run_jobs)
    assert installer.power_state == "running"
    act(installer, ActionKind.HARD_REBOOT, admin, run_jobs)
    assert installer.power_state == "running"
    act(installer, ActionKind.SUSPEND, admin, run_jobs)
    assert (installer.vm_state, installer.power_state) == ("suspended", "shutoff")
    act(installer, ActionKind.RESUME, admin, run_jobs)
    assert (installer.vm_state, installer.power_state) == ("active", "running")
    reboot = act(installer, ActionKind.REBOOT, admin, run_jobs)
    assert any("hard reboot" in step["name"] for step in reboot.steps)  # ACPI is ignored
    act(installer, ActionKind.SUSPEND, admin, run_jobs)
    boots = banners(installer)
    act(installer, ActionKind.HARD_REBOOT, admin, run_jobs)  # boots afresh: no restore
    assert installer.power_state == "running"
    assert wait_for(lambda: banners(installer) > boots, 60), "no fresh boot after hard reboot"
    act(installer, ActionKind.SNAPSHOT, admin, run_jobs)
    snapshot = installer.snapshots.get()
    act(installer, ActionKind.STOP, admin, run_jobs)
    revert = operations.request_action(installer, ActionKind.REVERT_SNAPSHOT, admin, snapshot)
    run_jobs()
    revert.refresh_from_db()
    installer.refresh_from_db()
    assert revert.status == "succeeded", revert.error
    assert (installer.vm_state, installer.power_state) == ("active", "running")
    act(installer, ActionKind.TERMINATE, admin, run_jobs)
    assert installer.vm_state == "deleted" and installer.terminated_at
    assert not serial_log(installer).parent.exists()
