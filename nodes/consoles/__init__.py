"""Consoles in one package: tokens and sessions (sessions.py: who may open which console),
the close codes shared with the console pages (codes.py), the websocket proxy (proxy.py) and
the serial bridge (serial.py). The package gives what the web process uses: the sessions'
functions and the codes. The proxy and the bridge talk to nodes: only the proxy process
imports them."""

from nodes.consoles.codes import (
    DENIED,
    NODE_DOWN,
    NOT_RUNNING,
    PORT_CHANGED,
    REVOKED,
    SESSION_TOO_LONG,
    TOKEN_INVALID,
    TOO_MANY,
    TOO_MANY_ATTEMPTS,
)
from nodes.consoles.sessions import (
    TOKEN_TTL,
    Refused,
    end,
    end_all_open,
    issue,
    moved,
    not_usable,
    open_session,
    revoke_tokens,
    revoke_user,
    revoked,
    ws_base,
    ws_url,
)

__all__ = [
    "DENIED",
    "NODE_DOWN",
    "NOT_RUNNING",
    "PORT_CHANGED",
    "REVOKED",
    "SESSION_TOO_LONG",
    "TOKEN_INVALID",
    "TOKEN_TTL",
    "TOO_MANY",
    "TOO_MANY_ATTEMPTS",
    "Refused",
    "end",
    "end_all_open",
    "issue",
    "moved",
    "not_usable",
    "open_session",
    "revoke_tokens",
    "revoke_user",
    "revoked",
    "ws_base",
    "ws_url",
]
