"""Settings for the test suite: Kumo's own, with Redis on a database of its own."""

from urllib.parse import urlsplit, urlunsplit

from console.settings import *  # noqa: F403
from console.settings import REDIS_URL, RQ_QUEUES

# Tests flush their Redis database; keep it away from a running console's (db 0).
TEST_REDIS_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path="/15"))
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
