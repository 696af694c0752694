"""The console in a real browser: log in, see the demo cloud, check a node."""

import pytest

from nodes.models import Node
from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_logs_in_and_sees_node_health(page, live_server, admin, sim_node):
    Node.objects.filter(pk=sim_node.pk).update(status="up", cpus=16, memory_mb=4096)
    log_in(page, live_server, "alice", "pw")
    page.wait_for_selector("text=Node health")
    row = page.locator("tr", has_text="sim")
    assert "Up" in row.inner_text()
    assert page.evaluate("typeof window.htmx") == "object"


def test_a_wrong_password_is_refused_politely(page, live_server, admin):
    log_in(page, live_server, "alice", "wrong")
    assert "correct username and password" in page.inner_text(".alert-danger")


def test_the_pages_are_keyboard_reachable(page, live_server, admin):
    log_in(page, live_server, "alice", "pw")
    page.wait_for_selector("text=Dashboard")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
