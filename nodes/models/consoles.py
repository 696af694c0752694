"""Consoles: one-time tokens, the sessions they open, and the last serial output read."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q

from nodes.choices import ConsoleKind
from nodes.querysets import VisibleQuerySet


def token_digest(token):
    """Tokens are stored as their SHA-256: a database dump opens no console."""
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleToken(models.Model):
    """A one-time permission to open one console of one instance, for one user, for a
    minute; bound to the graphics port the instance had when it was issued."""

    digest = models.CharField(max_length=64, unique=True)
    instance = models.ForeignKey(
        "nodes.Instance", on_delete=models.CASCADE, related_name="console_tokens"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=ConsoleKind)
    read_only = models.BooleanField(default=False)
    port = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ConsoleKind.values), name="console_token_kind_valid"
            )
        ]

    def __str__(self):
        return f"{self.kind} console token for {self.instance_id}"


class ConsoleSession(models.Model):
    """A console open in someone's browser, from connect to close; the proxy closes it
    within a second of `ended_at` being set (stop, terminate, loss of access)."""

    MEMBER_VISIBILITY = "own_instance"

    instance = models.ForeignKey(
        "nodes.Instance", on_delete=models.CASCADE, related_name="console_sessions"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=ConsoleKind)
    read_only = models.BooleanField(default=False)
    node = models.ForeignKey(
        "nodes.Node",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where the instance ran when the console opened: moving it ends the console.",
    )
    client = models.CharField(max_length=64, blank=True, help_text="The browser's address.")
    proxy = models.CharField(max_length=100, blank=True, help_text="The proxy serving it.")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["ended_at"], name="console_session_ended_idx")]

    def __str__(self):
        return f"{self.kind} console of {self.instance_id} for {self.user_id}"


class ConsoleOutput(models.Model):
    """The tail of the instance's serial log as last read from its node (EC2's
    GetConsoleOutput also answers with a stored copy and its time)."""

    LIMIT = 64 * 1024

    instance = models.OneToOneField(
        "nodes.Instance", on_delete=models.CASCADE, related_name="console_output"
    )
    output = models.TextField(blank=True)
    truncated = models.BooleanField(default=False)
    fetched_at = models.DateTimeField()

    def __str__(self):
        return f"console output of {self.instance_id}"
