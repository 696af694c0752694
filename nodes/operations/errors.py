"""What pages and the API answer when an operation is refused: one type, its HTTP status,
its message, and the field it is about (if any)."""


class Refused(Exception):
    """An operation that cannot be done; nothing was written."""

    status = 400

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message, self.field = message, field


class QueueUnavailable(Refused):
    """Redis cannot be reached, so no job can be queued."""

    status = 503


class ActionRefused(Refused):
    """The action is not allowed in the instance's current state."""

    status = 409


class NoRoom(Refused):
    """The node's storage has no room for what was asked."""

    status = 409


class NotAllowed(Refused):
    """The caller may not do this (an admin's action, say)."""

    status = 403


class QuotaExceeded(Refused):
    """The launch would take the user past a limit."""

    def __init__(self, message):
        super().__init__(message, field="quota")


class LaunchInvalid(Refused):
    """Launch input that cannot be used; `field` names the input."""

    def __init__(self, field, message):
        super().__init__(message, field)
