"""Rate limits: failed logins lock a username, and an address, out for a while (the login
page says how long); wrong API tokens from one address get 429; each user has an API rate;
and the console proxy turns away an address that keeps presenting bad console tokens."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from nodes import consoles
from nodes.choices import PowerState, VmState
from nodes.models import ConsoleToken
from nodes.models.consoles import token_digest

ORIGIN = "http://console.test:8000"


def log_in(username, password, address="10.0.0.1", path="/login/", **headers):
    """A login through the page, from a new browser at address."""
    client = Client(REMOTE_ADDR=address, **headers)
    return client.post(path, {"username": username, "password": password})


@pytest.mark.django_db
def test_wrong_passwords_lock_the_username_out_and_the_page_says_for_how_long(member_a):
    codes = [log_in("bob", f"guess{n}").status_code for n in range(30)]
    assert codes == [200] * 9 + [429] * 21
    locked = log_in("bob", "pw")
    page = locked.content.decode()
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    assert "Too many failed logins" in page and "try again in 15 minutes" in page
    assert 'name="password"' in page  # the login page itself, not a bare 403
    assert log_in("bob", "pw", address="10.0.0.2").status_code == 429  # per username


@pytest.mark.django_db
def test_the_right_password_works_again_after_the_cool_off(member_a, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    for n in range(10):
        log_in("bob", f"guess{n}")
    locked = log_in("bob", "pw")
    assert locked.status_code == 429 and "try again in 2 seconds" in locked.content.decode()
    time.sleep(2.1)
    assert log_in("bob", "pw").status_code == 302


@pytest.mark.django_db
def test_one_address_trying_many_usernames_is_locked_out(member_a):
    codes = [log_in(f"user{n}", "guess", address="10.0.0.9").status_code for n in range(30)]
    assert codes == [200] * 9 + [429] * 21
    assert log_in("bob", "pw", address="10.0.0.9").status_code == 429
    assert log_in("bob", "pw", address="10.0.0.10").status_code == 302


@pytest.mark.django_db
def test_a_successful_login_forgives_its_own_failures_only(member_a, member_b):
    for _ in range(2):
        for n in range(9):
            assert log_in("bob", f"typo{n}").status_code == 200
        assert log_in("bob", "pw").status_code == 302  # mistypes never add up
    for n in range(9):
        log_in("carol", f"guess{n}")
    assert log_in("bob", "pw").status_code == 302  # one's own login, same address…
    assert log_in("carol", "guess9").status_code == 429  # …keeps the guesses at another's


@pytest.mark.django_db
def test_the_admin_site_login_is_limited_too(admin):
    codes = [log_in("alice", f"guess{n}", path="/admin/login/").status_code for n in range(10)]
    assert codes == [200] * 9 + [429]
    locked = log_in("alice", "pw", path="/admin/login/")
    assert locked.status_code == 429 and "try again in" in locked.content.decode()
    assert log_in("alice", "pw").status_code == 429  # and the console's login with it


@pytest.mark.django_db
def test_forwarded_addresses_count_only_from_trusted_proxies(member_a, settings):
    for n in range(10):  # an untrusted client making up a new X-Forwarded-For each time
        log_in(f"user{n}", "guess", address="10.0.0.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert log_in("bob", "pw", address="10.0.0.9").status_code == 429
    settings.KUMO_TRUSTED_PROXIES = ["10.0.0.5"]
    for n in range(10):  # behind a trusted proxy: the address it saw
        log_in(f"user{n}", "guess", address="10.0.0.5", HTTP_X_FORWARDED_FOR="evil, 192.0.2.7")
    proxied = {"address": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "192.0.2.7"}
    assert log_in("bob", "pw", **proxied).status_code == 429
    proxied["HTTP_X_FORWARDED_FOR"] = "192.0.2.8"
    assert log_in("bob", "pw", **proxied).status_code == 302


@pytest.mark.django_db
def test_wrong_api_tokens_from_one_address_get_429_with_the_wait(api, member_a):
    key = Token.objects.create(user=member_a).key
    for n in range(10):
        api.credentials(HTTP_AUTHORIZATION=f"Token wrong{n}")
        assert api.get("/api/v1/instances/").status_code == 401
    response = api.get("/api/v1/instances/")
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    detail = response.json()["detail"]
    assert "Too many wrong API tokens" in detail and f"{wait} second" in detail
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/instances/").status_code == 429  # the right one is not even tried
    assert api.get("/api/v1/instances/", REMOTE_ADDR="10.0.0.2").status_code == 200
    api.credentials()
    api.force_login(member_a)
    assert api.get("/api/v1/instances/").status_code == 200  # sessions have no token to guess


@pytest.mark.django_db
def test_each_user_has_an_api_rate(api, member_a, member_b, settings):
    settings.KUMO_API_RATE = "5/minute"
    api.force_authenticate(member_a)
    assert [api.get("/api/v1/keypairs/").status_code for _ in range(6)] == [200] * 5 + [429]
    response = api.get("/api/v1/keypairs/")
    assert int(response["Retry-After"]) > 0 and "seconds" in response.json()["detail"]
    api.force_authenticate(member_b)
    assert api.get("/api/v1/keypairs/").status_code == 200


def refusal(url):
    """(close code, reason) of a console connection the proxy refuses."""
    with connect(url, origin=ORIGIN, open_timeout=10) as ws, pytest.raises(ConnectionClosed) as e:
        ws.recv(timeout=10)
    return e.value.rcvd.code, e.value.rcvd.reason


@pytest.mark.django_db(transaction=True)
def test_an_address_guessing_console_tokens_is_told_to_wait(world, console_proxy, settings):
    settings.KUMO_CONSOLE_ORIGINS = [ORIGIN]
    settings.KUMO_CONSOLE_TOKEN_FAILURES = 5
    instance = world["instance_a"]
    instance.vm_state, instance.power_state = VmState.ACTIVE, PowerState.RUNNING
    instance.save()
    token, _ = consoles.issue(instance, instance.owner, "serial")
    base = settings.KUMO_CONSOLE_URL
    codes = [refusal(f"{base}?token=guess{n}")[0] for n in range(5)]
    assert codes == [consoles.TOKEN_INVALID] * 5
    code, reason = refusal(f"{base}?token={token}")
    assert code == consoles.TOO_MANY_ATTEMPTS and "wait 300 s" in reason
    assert ConsoleToken.objects.get(digest=token_digest(token)).used_at is None  # not tried
    settings.KUMO_CONSOLE_TOKEN_WINDOW = 1
    time.sleep(1.1)
    code, reason = refusal(f"{base}?token={token}")
    assert code == consoles.NODE_DOWN, reason  # spent: the sim node has no console stream
