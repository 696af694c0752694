"""System checks for Kumo's configuration, with stable ids (README.md lists them), and
their run at the start of every process."""

import os
import sys

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.management.base import BaseCommand, SystemCheckError


@register("kumo")
def check_environment(app_configs, **kwargs):
    """kumo.E001: an environment variable could not be understood."""
    return [
        Error(message, hint="See 'Configuration' in README.md.", id="kumo.E001")
        for message in getattr(settings, "SETTINGS_ERRORS", [])
    ]


@register("kumo")
def check_var_dir(app_configs, **kwargs):
    """kumo.E002: the state directory must be writable."""
    var_dir = settings.VAR_DIR
    if var_dir.exists() and not os.access(var_dir, os.W_OK):
        return [Error(f"KUMO_VAR_DIR {var_dir} is not writable.", id="kumo.E002")]
    return []


@register("kumo", deploy=True)
def check_secret_key(app_configs, **kwargs):
    """kumo.W001: a short SECRET_KEY weakens sessions and sealed node passwords."""
    if len(settings.SECRET_KEY) < 32:
        return [Warning("SECRET_KEY is shorter than 32 characters.", id="kumo.W001")]
    return []


@register("kumo")
def check_https_proxy(app_configs, **kwargs):
    """kumo.W002: KUMO_HTTPS without a trusted proxy redirects every request, for ever."""
    if settings.KUMO_HTTPS and not settings.KUMO_TRUSTED_PROXIES:
        return [
            Warning(
                "KUMO_HTTPS is on but KUMO_TRUSTED_PROXIES is empty: no request counts as "
                "HTTPS, so every one is redirected to HTTPS again.",
                hint="Set KUMO_TRUSTED_PROXIES to the address of the TLS proxy in front.",
                id="kumo.W002",
            )
        ]
    return []


def run_checks():
    """Run the system checks as management commands do before they start (rqworker and
    runwatcher among them): warnings go to stderr; errors raise SystemCheckError, whose text
    is the report `manage.py check` prints."""
    BaseCommand().check()


def run_checks_or_exit():
    """At a process's start: run the checks; on an error, print their report and exit 1."""
    try:
        run_checks()
    except SystemCheckError as error:
        sys.stderr.write(f"{error}\n")  # it starts "SystemCheckError:", as manage.py prints it
        sys.exit(1)
