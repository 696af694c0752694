"""Headless Chromium (Debian's) driven by Playwright, for tests of pages as people use them.
The `page` fixture is in conftest.py."""

import os
from contextlib import contextmanager

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium_page():
    # Playwright runs an event loop in this thread; Django's ORM calls are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(10_000)
        # Chromium reports what the Content-Security-Policy blocked on the page's console.
        page.csp_violations = []
        page.on("console", lambda message: record_csp_violation(page, message))
        yield page
        browser.close()


def record_csp_violation(page, message):
    if "Content Security Policy" in message.text:
        page.csp_violations.append(f"{page.url}: {message.text}")


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button:has-text('Log in')")
