"""The console proxy: websockify serving Kumo's consoles, one thread per connection.

A connection spends its token only after its Origin passed (sessions.open_session).
VNC is relayed to the node's VNC port once that port is re-checked against the live
domain; the serial console is relayed to the domain's libvirt console stream, which every
session on that domain shares. A sweeper closes, within a second, the sessions revoked by
a stop, a termination or a loss of access, and those past their time.

Until its token is spent a connection is pending: it must get there within
KUMO_CONSOLE_HANDSHAKE_TIMEOUT seconds, pending connections are capped, and an address whose
tokens were refused too often is turned away for a while (counted in this process).
"""

import contextlib
import logging
import math
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from http.server import HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.http import parse_cookie
from websockify.websocketproxy import ProxyRequestHandler

from nodes import consoles
from nodes.choices import ConsoleKind
from nodes.consoles.serial import SerialHub
from nodes.libvirt import Hypervisor, NodeError
from nodes.libvirt.consoles import vnc_port
from nodes.middleware import client_ip
from nodes.models import Instance

log = logging.getLogger("kumo.consoleproxy")
TOKEN = re.compile(r"token=[^&\s'\"]*")
CLOSE_REASON_BYTES = 123  # the most a websocket close frame carries
CHUNK = 1 << 20  # read from the console at a time: fewer, larger frames cost less each


def redact(text):
    return TOKEN.sub("token=[hidden]", text)


def close_reason(text):
    return text.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")


class ConsoleHandler(ProxyRequestHandler):
    """One browser connection: check, connect to the console, relay until one side ends."""

    stop = None  # (close code, reason) set by the sweeper

    def log_message(self, format, *args):
        log.info("%s %s", self.peer(), redact(format % args))

    def peer(self):
        """The browser's address: X-Forwarded-For only when a trusted proxy says it."""
        address = self.client_address[0] if self.client_address else ""
        forwarded = self.headers.get("X-Forwarded-For", "") if self.headers else ""
        return client_ip(address, forwarded)

    def validate_connection(self):
        """Nothing before the handshake: refusals go out as close frames with a reason,
        which a browser can show (a refused handshake reaches it as a bare 1006)."""

    def new_websocket_client(self):
        try:
            self.check_attempts()
            grant, session = self.open_session()
            self.server.opened(self.connection)
            try:
                target = self.open_target(grant)
            except consoles.Refused as refusal:
                consoles.end(session.pk, refusal.reason)
                raise
            except Exception:
                consoles.end(session.pk, "The console failed to connect (see the proxy's log).")
                raise
        except consoles.Refused as refusal:
            log.info("%s refused: %s", self.peer(), refusal.reason)
            if refusal.code == consoles.TOKEN_INVALID:
                self.server.refusals.add(self.peer())
            raise self.CClose(refusal.code, close_reason(refusal.reason)) from None
        finally:
            close_old_connections()
        self.server.sessions[session.pk] = self
        deadline = time.monotonic() + settings.KUMO_CONSOLE_MAX_SECONDS
        outcome = None
        try:
            outcome = self.relay(target, grant.read_only, deadline)
        finally:
            self.server.sessions.pop(session.pk, None)
            target.close()
            consoles.end(session.pk, outcome[1] if outcome else "Closed by the browser.")
            connections.close_all()
        log.info("%s session %s ended: %s", self.peer(), session.pk, outcome or "browser left")
        if outcome:
            raise self.CClose(outcome[0], close_reason(outcome[1]))

    def check_attempts(self):
        """Refuse at once an address whose tokens were refused too often lately."""
        wait = self.server.refusals.wait(self.peer())
        if wait:
            raise consoles.Refused(
                consoles.TOO_MANY_ATTEMPTS,
                f"Too many refused console links from your address: wait {wait} s, then "
                "open the console again.",
            )

    def open_session(self):
        token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
        cookies = parse_cookie(self.headers.get("Cookie", ""))
        return consoles.open_session(
            token,
            self.headers.get("Origin", ""),
            self.peer(),
            cookies.get(settings.SESSION_COOKIE_NAME, ""),
            self.server.name,
        )

    def open_target(self, grant):
        if grant.kind == ConsoleKind.SERIAL:
            return self.server.serial_peer(grant.instance)
        return vnc_socket(grant)

    def relay(self, target, read_only, deadline):
        """Bytes both ways until a side closes (None: the browser did) or the session must
        end ((code, reason))."""
        pending = False
        next_ping = time.monotonic() + self.server.heartbeat
        while self.stop is None:
            now = time.monotonic()
            if now > deadline:
                return consoles.SESSION_TOO_LONG, "This console reached its maximum length."
            if now > next_ping:
                self.send_ping()
                next_ping = now + self.server.heartbeat
            writable = [self.request] if pending else []
            readable, writable, _ = select.select([self.request, target], writable, [], 1)
            if writable:
                pending = self.send_frames()
            if self.request in readable:
                frames, closed = self.recv_frames()
                if frames and not read_only:
                    target.sendall(b"".join(frames))
                if closed:
                    return None
            if target in readable:
                data = target.recv(CHUNK)
                if not data:
                    return 1000, "The console closed (the instance stopped or restarted)."
                pending = self.send_frames([data])
        return self.stop


def vnc_socket(grant):
    """A connection to the instance's VNC server, once the live domain confirms the port
    the token was issued for (a port freed by one VM and taken by another must not leak)."""
    instance = grant.instance
    node = instance.node
    address = node.vnc_address
    if not address:
        raise consoles.Refused(
            consoles.NODE_DOWN,
            f"Node {node.name}'s VNC listens where the proxy cannot reach it: set its VNC "
            "listen address.",
        )
    try:
        with Hypervisor(node.endpoint(), settings.KUMO_PROBE_TIMEOUT) as hypervisor:
            live = vnc_port(hypervisor, instance.uuid)
    except NodeError as error:
        raise consoles.Refused(consoles.NODE_DOWN, str(error)) from error
    if live is None:
        raise consoles.Refused(consoles.NOT_RUNNING, f"{instance.ec2_id} is not running.")
    if live != grant.port:
        Instance.objects.filter(pk=instance.pk).update(vnc_port=live)
        raise consoles.Refused(consoles.PORT_CHANGED, "The VNC port changed: reconnecting.")
    try:
        target = socket.create_connection((address, live), timeout=5)
    except OSError as error:
        raise consoles.Refused(
            consoles.NODE_DOWN, f"Cannot reach the VNC server on {node.name}: {error}"
        ) from error
    target.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return target


class Refusals:
    """When this proxy refused tokens (unknown, expired, used) from each address, over the
    last KUMO_CONSOLE_TOKEN_WINDOW seconds."""

    def __init__(self):
        self.times = {}  # address -> deque of time.monotonic(), oldest first
        self.lock = threading.Lock()

    def add(self, address):
        with self.lock:
            self.times.setdefault(address, deque()).append(time.monotonic())

    def wait(self, address):
        """Whole seconds before address may try a token again (0: now): until so many of
        its refusals aged out that fewer than KUMO_CONSOLE_TOKEN_FAILURES are left."""
        with self.lock:
            times = self.recent(address)
            excess = len(times) - settings.KUMO_CONSOLE_TOKEN_FAILURES
            if excess < 0:
                return 0
            ages_out = times[excess] + settings.KUMO_CONSOLE_TOKEN_WINDOW
        return max(1, math.ceil(ages_out - time.monotonic()))

    def forget_old(self):
        """Drop the addresses whose refusals all aged out."""
        with self.lock:
            for address in list(self.times):
                self.recent(address)

    def recent(self, address):
        times = self.times.get(address, deque())
        horizon = time.monotonic() - settings.KUMO_CONSOLE_TOKEN_WINDOW
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            self.times.pop(address, None)
        return times


class ConsoleProxy(ThreadingMixIn, HTTPServer):
    """The websocket server: websocket connections only, one thread each."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    only_upgrade = True
    auth_plugin = None  # websockify's; Kumo's checks are in ConsoleHandler

    def __init__(self, address, heartbeat):
        super().__init__(address, ConsoleHandler)
        self.heartbeat = heartbeat
        self.logger = log
        self.sessions = {}  # session id -> ConsoleHandler
        self.hubs = {}  # instance id -> SerialHub
        self.hubs_lock = threading.Lock()
        self.stopping = threading.Event()
        self.name = proxy_name(self.server_address[1])
        self.pending = {}  # socket -> (deadline, address), until its token is spent
        self.pending_lock = threading.Lock()
        self.refusals = Refusals()

    def verify_request(self, request, client_address):
        """Turn a connection away at once when too many are pending, in all or from its
        address (not counted for a trusted reverse proxy: all its clients share it)."""
        address = client_address[0]
        with self.pending_lock:
            pending = len(self.pending)
            mine = sum(peer == address for _, peer in self.pending.values())
            crowded = pending >= settings.KUMO_CONSOLE_MAX_PENDING
            crowding = mine >= settings.KUMO_CONSOLE_MAX_PENDING_PER_ADDRESS and (
                address not in settings.KUMO_TRUSTED_PROXIES
            )
            if not (crowded or crowding):
                deadline = time.monotonic() + settings.KUMO_CONSOLE_HANDSHAKE_TIMEOUT
                self.pending[request] = (deadline, address)
                return True
        log.info("%s turned away: %s connections pending, %s from it", address, pending, mine)
        return False

    def opened(self, request):
        """request spent its token: it has no deadline any more."""
        with self.pending_lock:
            self.pending.pop(request, None)

    def shutdown_request(self, request):
        self.opened(request)
        super().shutdown_request(request)

    def close_late_forever(self, every=0.2):
        while not self.stopping.wait(every):
            self.close_late()
            self.refusals.forget_old()

    def close_late(self):
        """Close the pending connections past their deadline: the thread reading one
        sees it end."""
        now = time.monotonic()
        with self.pending_lock:
            late = [(sock, peer) for sock, (due, peer) in self.pending.items() if due < now]
            for sock, _ in late:
                del self.pending[sock]
        for sock, peer in late:
            log.info(
                "%s closed: no console opened within %s s",
                peer,
                settings.KUMO_CONSOLE_HANDSHAKE_TIMEOUT,
            )
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def serial_peer(self, instance):
        with self.hubs_lock:
            hub = self.hubs.get(instance.pk)
            if hub is None or hub.closed:
                try:
                    hub = self.hubs[instance.pk] = SerialHub(instance)
                except NodeError as error:
                    raise consoles.Refused(consoles.NODE_DOWN, str(error)) from error
            return hub.attach()

    def sweep_forever(self, every=1.0):
        while not self.stopping.wait(every):
            self.sweep()
        connections.close_all()  # this thread's own, when the proxy stops

    def shutdown(self):
        self.stopping.set()
        super().shutdown()

    def sweep(self):
        """Close the sessions that must end (the database says why)."""
        try:
            closing = consoles.revoked(list(self.sessions))
        except DatabaseError as error:
            log.warning("cannot check console sessions: %s", error)
            return
        finally:
            close_old_connections()
        for session_id, reason in closing.items():
            handler = self.sessions.get(session_id)
            if handler is not None:
                handler.stop = (consoles.REVOKED, reason)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # the browser left, or was closed as late
            log.info("console connection from %s dropped: %s", client_address[0], error)
        else:
            log.exception("console connection from %s failed", client_address[0])


def proxy_name(port):
    """Which proxy serves a session (several may share the database)."""
    return f"{socket.gethostname()}:{port}"


def start(address, heartbeat):
    """A proxy serving on address (port 0: any free one) in background threads."""
    server = ConsoleProxy(address, heartbeat)
    threading.Thread(target=server.serve_forever, name="console proxy", daemon=True).start()
    threading.Thread(target=server.sweep_forever, name="console sweeper", daemon=True).start()
    threading.Thread(target=server.close_late_forever, name="console doorman", daemon=True).start()
    return server


def serve():
    """`make run`'s console proxy process, until it is interrupted."""
    address = (settings.KUMO_CONSOLE_LISTEN, settings.CONSOLE_PORT)
    consoles.end_all_open(proxy_name(settings.CONSOLE_PORT), "The console proxy restarted.")
    server = start(address, settings.KUMO_CONSOLE_HEARTBEAT)
    log.info("console proxy on ws://%s:%s/", *address)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
