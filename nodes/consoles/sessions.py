"""Console tokens and sessions: who may open which console, checked when a token is issued
and again when the proxy spends it (DESIGN.md §7). No libvirt here: the proxy re-checks the
live domain itself.

A refusal carries a websocket close code (4xxx, read by the console pages) and a sentence a
person can act on. Tokens themselves never reach a log.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.http.request import split_domain_port
from django.utils import timezone

from nodes.choices import ConsoleKind, NodeStatus, TaskState, VmState
from nodes.consoles.codes import (
    DENIED,
    NODE_DOWN,
    NOT_RUNNING,
    TOKEN_INVALID,
    TOO_MANY,
)
from nodes.models import ConsoleSession, ConsoleToken, Instance
from nodes.models.consoles import token_digest
from nodes.states import LIVE_POWER

TOKEN_TTL = timedelta(seconds=60)


class Refused(Exception):
    """A console that may not open (or stay open), with its close code and reason."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code, self.reason = code, reason


def issue(instance, user, kind, read_only=False):
    """A new one-time token for user to open instance's console; (token, row)."""
    check_usable(instance, user, kind)
    token = secrets.token_urlsafe(32)
    row = ConsoleToken.objects.create(
        digest=token_digest(token),
        instance=instance,
        user=user,
        kind=kind,
        read_only=read_only,
        port=instance.vnc_port if kind == ConsoleKind.VNC else None,
        expires_at=timezone.now() + TOKEN_TTL,
    )
    return token, row


def open_session(token, origin, client="", session_key="", proxy=""):
    """Spend token and open a session: the Origin is checked first, so a page of another
    site cannot burn a token; then everything issue() checked is checked again, and a
    browser logged in as someone else (its session cookie) cannot use the token."""
    if origin not in settings.KUMO_CONSOLE_ORIGINS:
        raise Refused(
            DENIED,
            f"Consoles open only from Kumo's own pages (origin {origin or 'missing'} is not "
            "allowed; see KUMO_CONSOLE_ORIGINS).",
        )
    if not token:
        raise Refused(TOKEN_INVALID, "No console token: open the console from the instance page.")
    digest, now = token_digest(token), timezone.now()
    spent = ConsoleToken.objects.filter(digest=digest, used_at=None, expires_at__gt=now)
    if not spent.update(used_at=now):
        raise Refused(
            TOKEN_INVALID, "This console link has expired or was used already: open it again."
        )
    grant = ConsoleToken.objects.select_related("instance__node", "user").get(digest=digest)
    browser_user = SessionStore(session_key).get(SESSION_KEY) if session_key else None
    if browser_user is not None and str(browser_user) != str(grant.user_id):
        raise Refused(DENIED, "This console link was made for another user.")
    with transaction.atomic():
        # One session opens at a time per instance and per user: the limits hold.
        Instance.objects.select_for_update().filter(pk=grant.instance_id).first()
        get_user_model().objects.select_for_update().filter(pk=grant.user_id).first()
        grant.instance = Instance.objects.select_related("node").get(pk=grant.instance_id)
        check_usable(grant.instance, grant.user, grant.kind)
        session = ConsoleSession.objects.create(
            instance=grant.instance,
            user=grant.user,
            kind=grant.kind,
            read_only=grant.read_only,
            node=grant.instance.node,
            client=client[:64],
            proxy=proxy,
        )
    return grant, session


def check_usable(instance, user, kind):
    if not Instance.objects.for_user(user).filter(pk=instance.pk).exists():
        raise Refused(DENIED, "You do not have access to this instance's console.")
    reason = not_usable(instance)
    if reason:
        raise Refused(NOT_RUNNING, reason)
    node = instance.node
    if node.status == NodeStatus.DOWN:
        raise Refused(NODE_DOWN, f"Node {node.name} is down: {node.last_error}")
    if kind == ConsoleKind.VNC and not instance.vnc_port:
        raise Refused(
            NOT_RUNNING,
            "This instance has no VNC console: its node gives instances no graphics (blank "
            "VNC listen address), or it has not been started since that changed.",
        )
    check_limits(instance, user)


def not_usable(instance):
    """Why the instance has no console now, or "" when it has one."""
    if instance.vm_state in (VmState.DELETED, VmState.BUILDING) or instance.node_id is None:
        return f"{instance.ec2_id} is {instance.status.lower()}: it has no console."
    if instance.task_state == TaskState.DELETING:
        return f"{instance.ec2_id} is being terminated: it has no console."
    if instance.power_state not in LIVE_POWER:
        return f"{instance.ec2_id} is not running. Start it, then open the console."
    return ""


def check_limits(instance, user):
    live = ConsoleSession.objects.filter(ended_at=None)
    if live.filter(user=user).count() >= settings.KUMO_CONSOLE_SESSIONS_PER_USER:
        raise Refused(
            TOO_MANY,
            f"You have {settings.KUMO_CONSOLE_SESSIONS_PER_USER} consoles open, the most "
            "allowed: close one first.",
        )
    if live.filter(instance=instance).count() >= settings.KUMO_CONSOLE_SESSIONS_PER_INSTANCE:
        raise Refused(
            TOO_MANY,
            f"{instance.ec2_id} has {settings.KUMO_CONSOLE_SESSIONS_PER_INSTANCE} consoles "
            "open, the most allowed: close one first.",
        )


def end(session_id, reason):
    ConsoleSession.objects.filter(pk=session_id, ended_at=None).update(
        ended_at=timezone.now(), end_reason=reason[:200]
    )


def revoked(session_ids):
    """{session id: reason} for the live sessions that must close now: ended elsewhere, the
    instance stopped, moved or went away, or the user lost access (for_user decides)."""
    closing, visible = {}, {}
    sessions = ConsoleSession.objects.filter(pk__in=session_ids).select_related("instance", "user")
    for session in sessions:
        user, instance = session.user, session.instance
        if user.pk not in visible:
            seen = Instance.objects.for_user(user).filter(console_sessions__in=session_ids)
            visible[user.pk] = set(seen.values_list("pk", flat=True))
        if session.ended_at:
            closing[session.pk] = session.end_reason or "This console was closed."
        elif instance.pk not in visible[user.pk]:
            closing[session.pk] = "You no longer have access to this instance."
        elif reason := not_usable(instance):
            closing[session.pk] = reason
        elif session.node_id and instance.node_id != session.node_id:
            closing[session.pk] = "The instance moved to another node: reconnect."
    return closing


def revoke_user(user, reason):
    """user's unused tokens stop working and their open consoles close (within a second)."""
    ConsoleToken.objects.filter(user=user, used_at=None).delete()
    ConsoleSession.objects.filter(user=user, ended_at=None).update(
        ended_at=timezone.now(), end_reason=reason[:200]
    )


def revoke_tokens(instance):
    """Unused tokens of instance stop working: its console is about to change (stop,
    reboot, suspend, revert, terminate)."""
    ConsoleToken.objects.filter(instance=instance, used_at=None).delete()


def moved(instance, reason):
    """instance moved to another node: its unused tokens stop working, its open consoles
    close (within a second) saying so."""
    revoke_tokens(instance)
    ConsoleSession.objects.filter(instance=instance, ended_at=None).update(
        ended_at=timezone.now(), end_reason=reason[:200]
    )


def end_all_open(proxy, reason):
    """At a proxy's start: the sessions it left open when it last stopped ended with it."""
    ConsoleSession.objects.filter(ended_at=None, proxy=proxy).update(
        ended_at=timezone.now(), end_reason=reason
    )
    ConsoleToken.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()


def ws_base(request):
    """Where the browser opens consoles: KUMO_CONSOLE_URL behind a reverse proxy, else the
    proxy's port on the host the page came from."""
    if settings.KUMO_CONSOLE_URL:
        return settings.KUMO_CONSOLE_URL
    scheme = "wss" if request.is_secure() else "ws"
    host, _port = split_domain_port(request.get_host())
    return f"{scheme}://{host}:{settings.CONSOLE_PORT}/"


def ws_url(request, token):
    """The websocket URL of one console session."""
    return f"{ws_base(request)}?token={token}"
