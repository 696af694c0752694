"""The console proxy against connections that never open a console: each is closed once
KUMO_CONSOLE_HANDSHAKE_TIMEOUT passed without its token spent, pending connections are
capped in all and per address, and the proxy serves consoles afterwards."""

import contextlib
import selectors
import socket
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from nodes import consoles
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = "http://console.test:8000"
SLACK = 1.5  # the doorman looks every 0.2 s; the rest is a loaded machine's scheduling


@pytest.fixture
def proxy(console_proxy, settings):
    settings.KUMO_CONSOLE_ORIGINS = [ORIGIN]
    settings.KUMO_CONSOLE_HANDSHAKE_TIMEOUT = 1
    return console_proxy


def dial(proxy, source="127.0.0.1"):
    """A TCP connection to the proxy from source (any 127.x address is this host)."""
    sock = socket.create_connection(proxy.server_address, source_address=(source, 0))
    sock.setblocking(False)
    return sock


def closed_by_proxy(sock):
    """Whether the proxy ended the connection (EOF or reset) rather than left it open."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def closed_within(socks, seconds):
    """{socket: when (time.monotonic())} of those the proxy closed within seconds."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    closed, deadline = {}, time.monotonic() + seconds
    while len(closed) < len(socks) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.1):
            if closed_by_proxy(key.fileobj):
                closed[key.fileobj] = time.monotonic()
                selector.unregister(key.fileobj)
    selector.close()
    return closed


def console_answers(settings, instance):
    """The close code the proxy sends a real token (the sim node has no console stream:
    4502 proves the token was spent and the console tried)."""
    token, _ = consoles.issue(instance, instance.owner, "serial")
    url = f"{settings.KUMO_CONSOLE_URL}?token={token}"
    with connect(url, origin=ORIGIN, open_timeout=10) as ws, pytest.raises(ConnectionClosed) as e:
        ws.recv(timeout=10)
    return e.value.rcvd.code


def test_300_idle_connections_are_all_closed_within_the_handshake_timeout(proxy, settings, running):
    settings.KUMO_CONSOLE_HANDSHAKE_TIMEOUT = 2
    settings.KUMO_CONSOLE_MAX_PENDING = settings.KUMO_CONSOLE_MAX_PENDING_PER_ADDRESS = 1000
    threads = threading.active_count()
    dialled = {}
    for _ in range(300):
        sock = dial(proxy)
        dialled[sock] = time.monotonic()
    closed = closed_within(list(dialled), 2 + SLACK)
    assert len(closed) == 300
    waited = [closed[sock] - dialled[sock] for sock in dialled]
    assert min(waited) > 1.9 and max(waited) < 2 + SLACK  # by the timeout, not turned away
    assert wait_for(lambda: threading.active_count() <= threads, 5)  # their threads ended
    for sock in dialled:
        sock.close()
    assert console_answers(settings, running) == consoles.NODE_DOWN


def test_a_client_trickling_its_request_is_closed_all_the_same(proxy):
    sock = dial(proxy)
    started = time.monotonic()
    sock.sendall(b"GET /?token=x HTTP/1.1\r\n")
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        while not closed_by_proxy(sock) and time.monotonic() - started < 5:
            sock.sendall(b"X")  # a header line that never ends, a byte every 0.1 s
            time.sleep(0.1)
    assert 0.9 < time.monotonic() - started < 1 + SLACK
    sock.close()


def test_pending_connections_are_capped_in_all_and_per_address(proxy, settings, running):
    settings.KUMO_CONSOLE_HANDSHAKE_TIMEOUT = 30
    settings.KUMO_CONSOLE_MAX_PENDING, settings.KUMO_CONSOLE_MAX_PENDING_PER_ADDRESS = 5, 3
    held = [dial(proxy) for _ in range(3)]
    assert wait_for(lambda: len(proxy.pending) == 3, 5)
    one_too_many = dial(proxy)
    assert one_too_many in closed_within([one_too_many], 2)  # a fourth from 127.0.0.1
    held += [dial(proxy, "127.0.0.2") for _ in range(2)]
    assert wait_for(lambda: len(proxy.pending) == 5, 5)
    sixth = dial(proxy, "127.0.0.3")
    assert sixth in closed_within([sixth], 2)  # a sixth in all
    assert not closed_within(held, 0.5)  # those already in keep their time
    for sock in held:
        sock.close()
    assert wait_for(lambda: not proxy.pending, 5)
    assert console_answers(settings, running) == consoles.NODE_DOWN


def test_a_trusted_reverse_proxy_is_not_capped_per_address(proxy, settings):
    settings.KUMO_CONSOLE_HANDSHAKE_TIMEOUT = 30
    settings.KUMO_CONSOLE_MAX_PENDING_PER_ADDRESS = 2
    settings.KUMO_TRUSTED_PROXIES = ["127.0.0.1"]
    held = [dial(proxy) for _ in range(4)]
    assert wait_for(lambda: len(proxy.pending) == 4, 5)
    assert not closed_within(held, 0.5)
    for sock in held:
        sock.close()
