"""Settings for the test suite: Kumo's own, with Redis on a database of its own."""

import os
from urllib.parse import urlsplit, urlunsplit

from console.settings import *  # noqa: F403
from console.settings import REDIS_URL, RQ_QUEUES

# Tests flush their Redis database; keep it away from a running console's (db 0).
# KUMO_TEST_REDIS_DB lets two checkouts run their suites side by side.
TEST_REDIS_DB = os.environ.get("KUMO_TEST_REDIS_DB", "15")
TEST_REDIS_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{TEST_REDIS_DB}"))
RQ_QUEUES["default"]["URL"] = TEST_REDIS_URL
KUMO_PROBE_TIMEOUT = 3
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None  # tests serve static files through the finders
WHITENOISE_USE_FINDERS = True
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405  (threads must not keep the test DB open)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory: real rq worker processes started by tests must see it too.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
