"""Opening libvirt connections: credentials, a hard deadline, and errors a person can act on.

This package is the only place that imports libvirt.
"""

import contextlib
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import libvirt

# libvirt prints every error on stderr by default; we report them ourselves.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


class NodeError(Exception):
    """A libvirt failure, with a message that says what to do about it."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a node: what `open_connection` needs, free of Django."""

    uri: str
    auth_method: str = "none"
    username: str = ""
    password: str = ""

    @property
    def host(self):
        return urlsplit(self.uri).hostname or "the local host"

    @property
    def is_this_host(self):
        """Whether the node is the machine Kumo runs on (its URI names no host): its files
        are this host's."""
        return not urlsplit(self.uri).hostname


def effective_uri(endpoint):
    """The URI to open: SSH must never stop to ask a question on a terminal nobody watches."""
    parts = urlsplit(endpoint.uri)
    if parts.scheme.endswith(("+ssh", "+libssh", "+libssh2")) and "no_tty" not in parts.query:
        query = "&".join(filter(None, [parts.query, urlencode({"no_tty": 1})]))
        return urlunsplit(parts._replace(query=query))
    return endpoint.uri


def _credentials_callback(endpoint):
    def answer(credentials, _data):
        for credential in credentials:
            if credential[0] == libvirt.VIR_CRED_AUTHNAME:
                credential[4] = endpoint.username
            elif credential[0] == libvirt.VIR_CRED_PASSPHRASE:
                credential[4] = endpoint.password
            else:
                return -1
        return 0

    return answer


def _open(endpoint):
    if endpoint.auth_method == "sasl":
        auth = [
            [libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE],
            _credentials_callback(endpoint),
            None,
        ]
        return libvirt.openAuth(effective_uri(endpoint), auth, 0)
    return libvirt.open(effective_uri(endpoint))


def within(timeout, work, endpoint):
    """work(), or NodeError when it has not returned within `timeout` seconds.

    libvirt's calls block in C with no deadline of their own (a host that accepts the TCP
    connection and never answers holds them for minutes), so work runs in a daemon thread
    that is abandoned at the deadline. Callers run in rq work-horses or the watcher, never in
    a web request.
    """
    outcome = {}

    def attempt():
        try:
            outcome["value"] = work()
        except Exception as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=attempt, name=f"libvirt {endpoint.uri}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NodeError(
            f"{endpoint.host} did not answer within {timeout:g} s on {endpoint.uri}. "
            "Check that the host is up, that nothing between here and it drops the "
            "connection, and that libvirtd there is not stuck."
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def open_connection(endpoint, timeout):
    """Open a connection to the node, or raise NodeError within `timeout` seconds."""
    try:
        connection = within(timeout, lambda: _open(endpoint), endpoint)
    except libvirt.libvirtError as error:
        raise NodeError(explain(error, endpoint)) from error
    _keep_alive(connection)
    return connection


def _keep_alive(connection):
    """Let a remote connection notice a dead peer within ~15 s (local ones refuse it)."""
    with contextlib.suppress(libvirt.libvirtError):
        connection.setKeepAlive(5, 3)


HINTS = [
    (
        re.compile(
            r"End of file while reading|Cannot (recv|write) data|client socket is closed"
            r"|no longer connected|Broken pipe",
            re.I,
        ),
        "The connection to the libvirt daemon on {host} dropped (was it restarted?). "
        "The step did not finish: check the instance's state, then retry.",
    ),
    (
        re.compile(r"authentication failed|auth.*(denied|failed)|SASL", re.I),
        "Authentication failed: check the node's auth method, SASL username and password "
        "(or the TLS certificate / SSH key the console host uses).",
    ),
    (
        re.compile(r"Connection refused", re.I),
        "{host} refused the connection: is libvirtd running there and listening on this "
        "transport (for tcp/tls: listen_tls / listen_tcp or the libvirtd-tls.socket unit)?",
    ),
    (
        re.compile(r"Failed to connect socket.*No such file or directory", re.I),
        "No libvirt daemon is listening on the local socket: start libvirtd "
        "(`libvirtd -d`, or `make run` starts one) and check the socket path.",
    ),
    (
        re.compile(r"no connection driver available|Driver not found|no such driver", re.I),
        "This libvirt has no driver for the URI: check its scheme, and that the "
        "hypervisor's libvirt driver package is installed on the node.",
    ),
    (
        re.compile(r"Name or service not known|unknown host|Could not resolve", re.I),
        "The host name in the URI does not resolve: check its spelling or use an address.",
    ),
    (
        re.compile(r"No route to host|Network is unreachable|timed out", re.I),
        "{host} cannot be reached over the network: check the address, routes and firewall.",
    ),
    (
        re.compile(r"Host key verification failed|Permission denied \(publickey", re.I),
        "SSH refused the login: add the console host's key to the node's authorized_keys and "
        "its host key to known_hosts (the console never answers prompts).",
    ),
    (
        re.compile(r"certificate|GnuTLS|TLS", re.I),
        "The TLS handshake failed: check the CA, client certificate and key under "
        "/etc/pki on the console host and the server certificate on the node.",
    ),
]


def explain(error, endpoint):
    """Turn a libvirtError into one paragraph: what happened, what to do, libvirt's words."""
    detail = (error.get_error_message() or str(error)).strip()
    for pattern, hint in HINTS:
        if pattern.search(detail):
            return f"{hint.format(host=endpoint.host)} (libvirt: {detail})"
    return f"libvirt at {endpoint.uri} says: {detail}"
