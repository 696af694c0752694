"""The console pages in headless Chromium, through the real proxy, on a real QEMU (TCG)
domain booting the Debian installer: the VNC screen draws, the serial console shows the
kernel, and a hard reboot reconnects by itself."""

import pytest

from nodes import operations
from nodes.choices import ActionKind
from nodes.models import Image, Instance, Node
from nodes.probing import probe_and_record
from tests.browser import log_in
from tests.conftest import demo_password
from tests.test_qemu_lifecycle import serial_log, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIT_PIXELS = """() => {
  const canvas = document.querySelector("#vnc-screen canvas");
  if (!canvas || !canvas.width) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] || data[i + 1] || data[i + 2]) lit++;
  return lit;
}"""
RECORD_STATES = """() => {
  window.kumoStates = [];
  const status = document.getElementById("console-status");
  new MutationObserver(() => window.kumoStates.push(status.dataset.state))
    .observe(status, { attributes: true, attributeFilter: ["data-state"] });
}"""
TERMINAL_TEXT = """() => {
  const buffer = window.kumoTerminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


# Every byte the page sends on its websockets, for the keys pasted into the VNC console.
RECORD_SENT = """
window.kumoSent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data !== "string") {
    const view = ArrayBuffer.isView(data) ? data : new Uint8Array(data);
    window.kumoSent.push(...new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
  return send.call(this, data);
};
"""


def key_press(keysym, xt_scancode):
    """QEMU's extended key event (down), as noVNC sends it: the guest gets the scancode."""
    return bytes([255, 0, 0, 1]) + keysym.to_bytes(4, "big") + xt_scancode.to_bytes(4, "big")


@pytest.fixture
def console_page(page, live_server, installer, console_proxy, settings):
    settings.KUMO_CONSOLE_ORIGINS = [live_server.url]
    log_in(page, live_server, "alice", "pw")
    return page


def test_the_vnc_console_draws_the_screen_and_comes_back_after_a_hard_reboot(
    console_page, live_server, installer, admin, run_jobs
):
    page = console_page
    page.add_init_script(RECORD_SENT)
    page.goto(f"{live_server.url}/instances/{installer.ec2_id}/")
    page.click("text=VNC console")
    page.wait_for_selector("#vnc-screen[data-connected='true']", timeout=20_000)
    page.wait_for_function(f"() => ({LIT_PIXELS})() > 100", timeout=30_000)
    assert page.get_attribute("#console-status", "data-state") == "connected"

    page.click("summary:has-text('Paste text as keystrokes')")
    page.select_option("#vnc-paste-layout", "de")
    page.fill("#vnc-paste-text", "z@")
    page.click("button:has-text('Type into the console')")
    page.wait_for_function("() => !document.querySelector('#vnc-paste button').disabled")
    sent = bytes(page.evaluate("window.kumoSent"))
    assert key_press(ord("z"), 0x15) in sent  # the key labelled Y on a US keyboard
    assert key_press(0xFE03, 0xB8) in sent and key_press(ord("@"), 0x10) in sent  # AltGr+Q

    page.evaluate(RECORD_STATES)
    operations.request_action(installer, ActionKind.HARD_REBOOT, admin)
    run_jobs()
    page.wait_for_function("() => window.kumoStates.includes('retrying')", timeout=20_000)
    page.wait_for_selector("#console-status[data-state='connected']", timeout=30_000)
    page.wait_for_function(f"() => ({LIT_PIXELS})() > 100", timeout=30_000)


def test_the_serial_console_shows_the_kernel_booting(
    console_page, live_server, installer, worker_soon
):
    page = console_page
    assert wait_for_text(serial_log(installer), "Linux version", 30)  # printed before we look
    worker_soon(0.2)  # reads the console output the page asks for first
    page.goto(f"{live_server.url}/instances/{installer.ec2_id}/serial/?watch=1")
    page.wait_for_selector("#console-status[data-state='connected']", timeout=30_000)
    page.wait_for_function(f"() => ({TERMINAL_TEXT})().includes('Linux version')", timeout=30_000)
    assert "read-only" in page.inner_text("body").lower()


def test_the_instance_page_reads_the_console_output(
    console_page, live_server, installer, worker_soon
):
    page = console_page
    assert wait_for_text(serial_log(installer), "Linux version", 30)
    page.goto(f"{live_server.url}/instances/{installer.ec2_id}/")
    worker_soon(1)
    page.click("#console-output-card button:has-text('Read')")
    page.wait_for_selector("#console-output pre:has-text('Linux version')", timeout=20_000)
    page.wait_for_timeout(2500)  # the page refreshes itself every 2 s; the output stays
    assert "Linux version" in page.inner_text("#console-output")


def test_the_console_page_says_why_it_cannot_connect(page, live_server, world, member_a):
    """No QEMU here: an instance of bob's on the sim node, first stopped, then not his."""
    instance = world["instance_a"]
    Instance.objects.filter(pk=instance.pk).update(vm_state="stopped", power_state="shutoff")
    log_in(page, live_server, "bob", "pw")
    page.goto(f"{live_server.url}/instances/{instance.ec2_id}/console/")
    page.wait_for_selector("#console-status[data-state='retrying']")
    assert "is not running. Start it, then open the console" in page.inner_text("#console-status")
    Instance.objects.filter(pk=instance.pk).update(owner=world["instance_b"].owner)
    page.wait_for_selector("#console-status[data-state='failed']", timeout=10_000)
    assert "Access denied" in page.inner_text("#console-status")


PASTED = [  # (character, the guest's layout, the key that types it there)
    ("z", "de", {"code": "KeyY", "modifier": None, "dead": False}),
    ("@", "de", {"code": "KeyQ", "modifier": "altgr", "dead": False}),
    ("^", "de", {"code": "Backquote", "modifier": None, "dead": True}),
    ("a", "fr", {"code": "KeyQ", "modifier": None, "dead": False}),
    ("~", "fr", {"code": "Digit2", "modifier": "altgr", "dead": False}),
    ("ñ", "es", {"code": "Semicolon", "modifier": None, "dead": False}),
    ("{", "it", {"code": "BracketLeft", "modifier": "altgr-shift", "dead": False}),
    ("£", "gb", {"code": "Digit3", "modifier": "shift", "dead": False}),
    ("\n", "us", {"code": "Enter", "modifier": None, "dead": False}),
]


def test_pasted_characters_find_their_keys_on_the_guests_layout(page, live_server, world):
    log_in(page, live_server, "bob", "pw")
    page.goto(f"{live_server.url}/instances/{world['instance_a'].ec2_id}/console/")
    page.wait_for_function("() => typeof window.kumoKeyFor === 'function'")  # noVNC awaits first
    for char, layout, key in PASTED:
        assert page.evaluate("([c, l]) => window.kumoKeyFor(c, l)", [char, layout]) == key, char


def test_an_admin_boots_the_installer_from_the_pages_and_watches_both_consoles(
    page, live_server, demo, console_proxy, queue, run_jobs, settings
):
    """The demo story: launch the Debian installer on the local node from the launch form
    (the demo has the boot-parameters rule enabled), then watch it in the VNC and the serial
    consoles."""
    settings.KUMO_CONSOLE_ORIGINS = [live_server.url]
    settings.KUMO_PROBE_TIMEOUT = 30  # a libvirtd just started probes QEMU's capabilities
    local = Node.objects.get(name="local")
    assert probe_and_record(local), local.last_error
    log_in(page, live_server, "admin", demo_password("admin"))
    page.goto(f"{live_server.url}/instances/new/")
    page.select_option("#id_image", label=str(Image.objects.get(kind="machine")))
    page.select_option("#id_kernel", label=str(Image.objects.get(kind="kernel")))
    page.select_option("#id_ramdisk", label=str(Image.objects.get(kind="ramdisk")))
    page.select_option("#id_instance_type", "m1.medium")
    page.select_option("#id_node", "local")
    page.fill("#id_name", "installer")
    page.fill("#id_user_data", "bootparams=console=tty0 priority=critical\n")
    page.click("button:has-text('Launch')")
    page.wait_for_selector("text=installer")
    run_jobs()
    instance = Instance.objects.get(name="installer")
    assert instance.vm_state == "active", instance.actions.get().error
    assert "console=tty0 priority=critical" in instance.domain_xml

    page.goto(f"{live_server.url}/instances/{instance.ec2_id}/")
    page.click("text=VNC console")
    page.wait_for_selector("#vnc-screen[data-connected='true']", timeout=20_000)
    page.wait_for_function(f"() => ({LIT_PIXELS})() > 100", timeout=30_000)
    page.goto(f"{live_server.url}/instances/{instance.ec2_id}/")
    page.click("text=Watch serial (read-only)")
    page.wait_for_selector("#console-status[data-state='connected']", timeout=30_000)
    assert wait_for_text(serial_log(instance), "Linux version", 60)
    operations.request_action(instance, ActionKind.TERMINATE, instance.owner)
    run_jobs()
