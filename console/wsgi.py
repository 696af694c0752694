"""WSGI entry point for gunicorn: the application, once the system checks pass."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
application = get_wsgi_application()

from nodes.checks import run_checks  # noqa: E402  (needs the apps loaded)

# Raised, not exited: gunicorn halts on a worker that fails to boot, but respawns one that exits.
run_checks()
