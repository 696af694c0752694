"""Security headers: methods no view serves are refused, every response carries a strict
Content-Security-Policy (whose nonce is the page's) and the headers `check --deploy` asks for;
the pages with widgets (htmx, CodeMirror, xterm.js, noVNC) work under the policy in Chromium;
KUMO_HTTPS turns on the HTTPS protections."""

import re

import pytest

from tests.browser import log_in
from tests.conftest import console_process

UNSERVED = ["TRACE", "CONNECT", "TRACK"]


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {words[0]: words[1:] for words in directives if words}


@pytest.mark.parametrize("method", UNSERVED)
def test_a_page_refuses_methods_no_view_serves(admin_client, db, method):
    response = admin_client.generic(method, "/")
    assert response.status_code == 405
    assert "TRACE" not in response["Allow"] and "GET" in response["Allow"]
    assert response.content.decode() == f'Method "{method}" not allowed.'


@pytest.mark.parametrize("method", UNSERVED)
def test_the_api_refuses_methods_no_view_serves_in_json(api, admin, method):
    api.force_authenticate(admin)
    response = api.generic(method, "/api/v1/instances/")
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


def test_an_anonymous_trace_is_refused_before_the_login_redirect(client, db):
    assert client.generic("TRACE", "/login/").status_code == 405
    assert client.generic("TRACE", "/instances/").status_code == 405


def test_a_page_carries_a_strict_policy_with_the_pages_nonce(admin_client, world):
    response = admin_client.get("/")
    directives = policy(response)
    nonce = re.search(r'<meta name="csp-nonce" nonce="([^"]+)">', response.content.decode())[1]
    assert directives["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_every_response_gets_a_fresh_nonce(admin_client, world):
    first, second = (policy(admin_client.get("/"))["style-src"][1] for _ in range(2))
    assert first != second


def test_the_console_proxy_is_in_connect_src(admin_client, world, settings):
    assert policy(admin_client.get("/"))["connect-src"] == ["'self'", "ws://testserver:6080/"]
    settings.KUMO_CONSOLE_URL = "wss://kumo.example.org/console-ws/"
    connect = policy(admin_client.get("/"))["connect-src"]
    assert connect == ["'self'", "wss://kumo.example.org/console-ws/"]


def test_only_the_serial_console_and_the_rule_editor_allow_style_attributes(admin_client, world):
    key = world["instance_a"].ec2_id
    for path in [f"/instances/{key}/serial/", "/rules/new/"]:
        directives = policy(admin_client.get(path))
        assert directives["style-src-attr"] == ["'unsafe-inline'"], path
        assert directives["style-src"][0] == "'self'", path
    for path in ["/", f"/instances/{key}/console/", f"/instances/{key}/", "/rules/"]:
        assert "style-src-attr" not in policy(admin_client.get(path)), path


@pytest.mark.parametrize("path", ["/", "/api/v1/", "/login/", "/static/dist/kumo.js"])
def test_every_response_carries_the_security_headers(admin_client, world, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_a_refused_method_carries_the_security_headers_too(admin_client, db):
    response = admin_client.generic("TRACE", "/")
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"


def test_plain_http_is_redirected_once_https_is_on_but_not_the_health_check(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True  # what KUMO_HTTPS=true sets
    assert client.get("/login/")["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code != 301


def deploy_check(tmp_path, **env):
    result = console_process(["manage.py", "check", "--deploy"], tmp_path, DEBUG="false", **env)
    return result.stdout + result.stderr


def test_kumo_https_turns_on_what_check_deploy_asks_for(tmp_path):
    https_checks = ["security.W004", "security.W008", "security.W012", "security.W016"]
    plain = deploy_check(tmp_path)
    assert all(check in plain for check in https_checks)
    behind_tls = deploy_check(tmp_path, KUMO_HTTPS="true", KUMO_TRUSTED_PROXIES="127.0.0.1")
    # Left to the operator: HSTS for every subdomain, and the browsers' preload list.
    assert set(re.findall(r"security\.W\d+", behind_tls)) == {"security.W005", "security.W021"}
    assert "kumo.W002" not in behind_tls


def test_kumo_https_without_a_trusted_proxy_is_flagged(tmp_path):
    assert "kumo.W002" in deploy_check(tmp_path, KUMO_HTTPS="true")


# In Chromium (the page fixture also fails a test whose pages the policy blocked on).


@pytest.fixture
def admin_page(page, live_server, admin, demo):
    log_in(page, live_server, "alice", "pw")
    return page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_work_under_the_policy(admin_page, live_server):
    page = admin_page
    for path in ["/", "/instances/", "/instances/new/", "/admin/", "/api/v1/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/clusters/")
    page.goto(f"{live_server.url}/clusters/new/")
    page.click("button:has-text('Cancel')")
    page.wait_for_url(f"{live_server.url}/clusters/")
    assert page.csp_violations == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_rule_editor_is_styled_under_the_policy(admin_page, live_server):
    page = admin_page
    page.goto(f"{live_server.url}/rules/new/")
    page.wait_for_selector("form[data-preview-state=ok]")
    # CodeMirror's own stylesheet (a <style> with the nonce) makes the editor a flex box.
    assert page.eval_on_selector(".cm-editor", "e => getComputedStyle(e).display") == "flex"
    assert page.eval_on_selector("#editor", "e => e.offsetHeight") >= 300  # 24rem, from CSS
    # Typing over lines: Chromium's editing writes a style attribute, which this page allows.
    page.click(".cm-content")
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.type("x")
    page.wait_for_selector("form[data-preview-state=error]")
    assert page.csp_violations == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_console_pages_are_styled_under_the_policy(page, live_server, world):
    key = world["instance_a"].ec2_id
    log_in(page, live_server, "bob", "pw")
    page.goto(f"{live_server.url}/instances/{key}/serial/")
    page.wait_for_selector("#serial-screen .xterm-rows")
    # 24-bit colour: xterm.js sets it as a style attribute, which this page allows.
    page.evaluate("window.kumoTerminal.write('\\x1b[38;2;255;0;0mred\\x1b[0m')")
    red = ".xterm-rows span:has-text('red')"
    page.wait_for_selector(red)
    assert page.eval_on_selector(red, "e => getComputedStyle(e).color") == "rgb(255, 0, 0)"
    page.evaluate("window.kumoTerminal.selectAll()")
    # xterm.js's own <style> elements (with the nonce) style the rows.
    rows = page.eval_on_selector(".xterm-rows", "e => getComputedStyle(e).pointerEvents")
    assert rows == "none"
    page.goto(f"{live_server.url}/instances/{key}/console/")
    page.wait_for_function("() => typeof window.kumoKeyFor === 'function'")
    page.wait_for_selector(
        "#console-status[data-state='retrying'], #console-status[data-state='failed']"
    )
    assert page.csp_violations == []
