"""Seed 003 in a real browser: the demo member runs "Install an image" with the Debian
installer on the local QEMU node, sees it on the VNC console with the blank volume attached,
stops it and makes the image, which is then offered for launch."""

import pytest

from nodes import operations
from nodes.choices import ActionKind
from nodes.models import Image, Instance, Node
from nodes.probing import probe_and_record
from nodes.storage.models import Volume
from tests.browser import log_in
from tests.conftest import demo_password
from tests.test_browser_consoles import LIT_PIXELS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_member_installs_an_image_onto_a_volume_makes_it_and_launches_it(
    page, live_server, demo, console_proxy, queue, run_jobs, settings
):
    settings.KUMO_CONSOLE_ORIGINS = [live_server.url]
    settings.KUMO_PROBE_TIMEOUT = 30  # a libvirtd just started probes QEMU's capabilities
    settings.KUMO_STOP_TIMEOUT = 3
    local = Node.objects.get(name="local")
    assert probe_and_record(local), local.last_error
    Node.objects.filter(name="sim").update(enabled=False)
    log_in(page, live_server, "member", demo_password("member"))

    page.goto(f"{live_server.url}/images/")
    page.click("text=Install an image")
    assert "not enabled" not in page.inner_text("main")  # the boot parameters will be used
    page.fill("#id_name", "my-debian")
    page.select_option("#id_kernel", label=str(Image.objects.get(kind="kernel")))
    page.select_option("#id_ramdisk", label=str(Image.objects.get(kind="ramdisk")))
    page.select_option("#id_image", label=str(Image.objects.get(kind="machine")))
    page.select_option("#id_instance_type", "m1.medium")
    page.fill("#id_disk_gib", "2")
    page.click("button:has-text('Launch the installer')")
    page.wait_for_selector("#vnc-screen")  # the VNC console, waiting for the instance
    run_jobs()
    instance = Instance.objects.get(name="installing my-debian")
    assert instance.vm_state == "active", instance.actions.get().error
    volume = Volume.objects.get(instance=instance)
    assert (volume.status, volume.device, volume.size_gib) == ("in-use", "vdc", 2)
    assert volume.ec2_id in instance.domain_xml  # its serial: the installer lists it by id
    page.wait_for_selector("#vnc-screen[data-connected='true']", timeout=30_000)
    page.wait_for_function(f"() => ({LIT_PIXELS})() > 100", timeout=30_000)

    operations.request_action(instance, ActionKind.STOP, instance.owner)
    run_jobs()
    page.goto(f"{live_server.url}/instances/{instance.ec2_id}/")
    page.click("text=Make the image…")
    assert page.input_value("#id_name") == "my-debian"
    assert "new MAC address at each launch" in page.inner_text("main")
    page.click("button:has-text('Make the image')")
    page.wait_for_selector("text=Making emi-")
    image = Image.objects.get(name="my-debian")
    assert image.status == "pending"
    run_jobs()
    page.reload()
    page.wait_for_selector("text=Launch it…")
    image.refresh_from_db()
    assert (image.status, image.owner.username, image.is_public) == ("available", "member", False)

    page.click("text=Launch it…")
    assert page.input_value("#id_image") == image.ec2_id
    page.select_option("#id_instance_type", "m1.small")
    page.click("button:has-text('Launch')")
    page.wait_for_selector("text=Launching 1 instance(s)")
    run_jobs()
    made = Instance.objects.get(image=image)
    assert made.vm_state == "active", made.actions.get().error

    operations.request_action(instance, ActionKind.TERMINATE, instance.owner)
    run_jobs()
    volume.refresh_from_db()
    assert volume.status == "available"  # the installed disk outlives the installer
