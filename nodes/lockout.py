"""Login lockouts (django-axes): the page a locked-out login gets, and what a successful
login forgives. Axes counts the failures per username and per address (console/settings.py)
and refuses a locked-out login before its password is checked.
"""

import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.utils import reset
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone


def locked_out(request, original_response, credentials):
    """The login page again, answering 429 and saying when to try again."""
    wait = seconds_left(request, credentials)
    username = get_client_username(request, credentials) or ""
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", request.GET.get("next", "")),
        "lockout": "Too many failed logins for this username or from your address: "
        f"try again in {in_words(wait)}.",
    }
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def seconds_left(request, credentials):
    """Seconds until the lockout ends. Each recorded attempt holds the failures of one
    username from one address and the time of the latest; they age out oldest first, and
    a lockout (per username, per address) ends once those left number under the limit."""
    cool_off, limit = get_cool_off(request), get_failure_limit(request, credentials)
    now = timezone.now()
    ends = now
    handler = AxesProxyHandler.get_implementation()
    for attempts in handler.get_user_attempts(request, credentials):
        rows = list(
            attempts.order_by("attempt_time").values_list("attempt_time", "failures_since_start")
        )
        left = sum(failures for _, failures in rows)
        for attempt_time, failures in rows:
            if left < limit:
                break
            left -= failures
            ends = max(ends, attempt_time + cool_off)
    return max(1, math.ceil((ends - now).total_seconds()))


def in_words(seconds):
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@receiver(user_logged_in)
def forgive_failures(sender, request, user, **kwargs):
    """A successful login clears its username's failures, from every address. Failures on
    other usernames from the same address stay (axes' AXES_RESET_ON_SUCCESS would clear the
    whole address): logging in to one's own account must not reset guessing at another's."""
    reset(username=user.get_username())
