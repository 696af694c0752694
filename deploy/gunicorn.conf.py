"""gunicorn's settings for Kumo's web process: `gunicorn -c deploy/gunicorn.conf.py console.wsgi`
(deploy/supervisord.conf and deploy/systemd/kumo-web.service run it so).

gevent workers: a client that sends its request slowly holds a greenlet, not one of a few
threads, so a handful of slow clients cannot stop the console from answering. The web
process never imports libvirt and psycopg 3 cooperates with gevent, so nothing blocks the
loop for long. A reverse proxy in front (docs/deployment.md) still does the buffering best.
"""

import os

# console/settings.py reads the same PORT (for the consoles' allowed origins).
bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = 2
worker_connections = 1000  # open client connections per worker, slow ones included
timeout = 30  # a worker whose loop is stuck this long is restarted
graceful_timeout = 10
keepalive = 5
accesslog = "-"
# Supervisord or systemd manages the processes; a control socket in $HOME would be shared by
# every gunicorn of the user (a test run beside `make run`).
control_socket_disable = True


def post_worker_init(worker):
    """Close each request's database connection when the request ends: every client
    connection runs in a greenlet of its own, which would keep its database connection
    until it is garbage, so that they pile up instead of being reused."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
