"""Kumo's settings, all read from the environment.

Every variable is documented in README.md ("Configuration"). A value that cannot be parsed
does not crash the import: it is recorded in SETTINGS_ERRORS and reported by the system
check kumo.E001 (see nodes/checks.py), so `manage.py check` and every start say what is wrong.
"""

import ipaddress
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KUMO_VAR_DIR", BASE_DIR / "var"))

SETTINGS_ERRORS: list[str] = []


def env_int(name, default, minimum=0):
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        SETTINGS_ERRORS.append(f"{name}={raw!r} must be a whole number ≥ {minimum}.")
        return default
    return value


def env_bool(name, default=False):
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    SETTINGS_ERRORS.append(f"{name}={raw!r} must be true or false.")
    return default


def env_list(name, default):
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()] if raw else default


def env_rate(name, default):
    """A rate as DRF's throttles take it: N/second, N/minute, N/hour or N/day."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", raw):
        SETTINGS_ERRORS.append(
            f"{name}={raw!r} must be a number of requests per second, minute, hour or day, "
            "e.g. 600/minute."
        )
        return default
    return raw


def env_choice(name, default, choices):
    raw = os.environ.get(name, "").strip().upper()
    if not raw:
        return default
    if raw not in choices:
        SETTINGS_ERRORS.append(f"{name}={raw!r} must be one of {', '.join(choices)}.")
        return default
    return raw


def env_networks(name, default):
    """Comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8, ::1) as ip_network
    objects; `none` for none at all."""
    raw = os.environ.get(name, "").strip()
    if raw.lower() == "none":
        return []
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as error:
            SETTINGS_ERRORS.append(
                f"{name}: {item!r} is not an address or a network such as 10.0.0.0/8 ({error})."
            )
    return networks


def env_secret(name, minimum_length):
    """A secret that is either unset (empty) or at least minimum_length characters long."""
    raw = os.environ.get(name, "").strip()
    if raw and len(raw) < minimum_length:
        SETTINGS_ERRORS.append(
            f"{name} is {len(raw)} characters long: use at least {minimum_length} random "
            "characters, or unset it."
        )
        return ""
    return raw


def secret_key():
    """SECRET_KEY from the environment, else one generated once into VAR_DIR."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    try:
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(50))
        return path.read_text().strip()
    except OSError as error:
        SETTINGS_ERRORS.append(
            f"SECRET_KEY is unset and cannot be kept in KUMO_VAR_DIR ({error}): make "
            f"{VAR_DIR} writable or set SECRET_KEY."
        )
        return secrets.token_urlsafe(50)  # lets the checks run and report it


def user_page(user):
    from django.urls import reverse  # settings load before the URL conf

    return reverse("kumo:user_detail", args=[user.username])


def database(url):
    try:
        return dj_database_url.parse(url, conn_max_age=60)
    except ValueError as error:
        SETTINGS_ERRORS.append(f"DATABASE_URL is not a database URL Django knows: {error}")
        return dj_database_url.parse(DEFAULT_DATABASE_URL)


def redis_url(url):
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        SETTINGS_ERRORS.append(f"REDIS_URL={url!r} must start with redis://, rediss:// or unix://.")
        return DEFAULT_REDIS_URL
    return url


SECRET_KEY = secret_key()
DEBUG = env_bool("DEBUG")
PORT = env_int("PORT", 8000, minimum=1)
CONSOLE_PORT = env_int("CONSOLE_PORT", 6080, minimum=1)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'kumo.sqlite3'}"
DATABASES = {"default": database(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web, workers and watcher read while one of them writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_URL = redis_url(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": 900,
        # Fail fast when Redis is gone: pages keep working, actions say the queue is down.
        "SOCKET_TIMEOUT": 3,
        "REDIS_CLIENT_KWARGS": {"socket_connect_timeout": 2},
    }
}
RQ = {"COMMIT_MODE": "on_db_commit"}

# How long a node may take to answer a probe before it is marked down, in seconds.
KUMO_PROBE_TIMEOUT = env_int("KUMO_PROBE_TIMEOUT", 10, minimum=1)
# How often the watcher re-probes every enabled node, in seconds.
KUMO_WATCH_INTERVAL = env_int("KUMO_WATCH_INTERVAL", 30, minimum=1)
# Hooks (after Eucalyptus nc-hooks): a directory of executables, and how long each may run.
KUMO_HOOKS_DIR = os.environ.get("KUMO_HOOKS_DIR", "")
KUMO_HOOK_TIMEOUT = env_int("KUMO_HOOK_TIMEOUT", 30, minimum=1)
# Seconds a stop waits for the guest to power off (ACPI, re-sent every 10 s) before forcing.
KUMO_STOP_TIMEOUT = env_int("KUMO_STOP_TIMEOUT", 60, minimum=0)
KUMO_MIGRATION_TLS = env_bool("KUMO_MIGRATION_TLS")
# How long a running guest has to let a detached volume go (a virtio unplug needs its kernel).
KUMO_DETACH_TIMEOUT = env_int("KUMO_DETACH_TIMEOUT", 30, minimum=1)
# Seconds a soft reboot waits for the guest before falling back to a hard reboot.
KUMO_REBOOT_TIMEOUT = env_int("KUMO_REBOOT_TIMEOUT", 60, minimum=0)
# Seconds without a heartbeat after which a running action whose worker died is failed.
KUMO_ACTION_STALE_AFTER = env_int("KUMO_ACTION_STALE_AFTER", 120, minimum=10)
# Metrics: seconds between two samples of every running instance and node by the collector,
# and days a deleted instance's history is kept before it is removed.
KUMO_METRICS_INTERVAL = env_int("KUMO_METRICS_INTERVAL", 10, minimum=1)
KUMO_METRICS_KEEP_DELETED_DAYS = env_int("KUMO_METRICS_KEEP_DELETED_DAYS", 30, minimum=0)
# Who may scrape /metrics: whoever sends `Authorization: Bearer KUMO_METRICS_TOKEN`, and
# clients (nodes.middleware.client_ip) in KUMO_METRICS_ALLOW, by default loopback only.
KUMO_METRICS_TOKEN = env_secret("KUMO_METRICS_TOKEN", minimum_length=16)
KUMO_METRICS_ALLOW = env_networks("KUMO_METRICS_ALLOW", ["127.0.0.0/8", "::1"])
# Where the demo images and other generated files live.
KUMO_IMAGES_DIR = Path(os.environ.get("KUMO_IMAGES_DIR", VAR_DIR / "images"))
# How long an image imported from a URL may wait for the server's next bytes, in seconds.
KUMO_IMAGE_DOWNLOAD_TIMEOUT = env_int("KUMO_IMAGE_DOWNLOAD_TIMEOUT", 60, minimum=1)

# Consoles. The websocket proxy listens on KUMO_CONSOLE_LISTEN:CONSOLE_PORT; browsers reach it
# at KUMO_CONSOLE_URL (a wss:// URL behind a reverse proxy), by default ws://<page host>:PORT.
KUMO_CONSOLE_LISTEN = os.environ.get("KUMO_CONSOLE_LISTEN", "127.0.0.1")
KUMO_CONSOLE_URL = os.environ.get("KUMO_CONSOLE_URL", "")
# Pages allowed to open consoles (the websocket's Origin): by default the console's own
# address, http://<each ALLOWED_HOSTS name>:PORT, and CSRF_TRUSTED_ORIGINS.
KUMO_CONSOLE_ORIGINS = env_list(
    "KUMO_CONSOLE_ORIGINS",
    [
        f"http://{host}" + ("" if PORT == 80 else f":{PORT}")
        for host in ALLOWED_HOSTS
        if "*" not in host and host[0] != "."
    ]
    + CSRF_TRUSTED_ORIGINS,
)
KUMO_CONSOLE_SESSIONS_PER_USER = env_int("KUMO_CONSOLE_SESSIONS_PER_USER", 10, minimum=1)
KUMO_CONSOLE_SESSIONS_PER_INSTANCE = env_int("KUMO_CONSOLE_SESSIONS_PER_INSTANCE", 4, minimum=1)
# The longest a console stays open, and how often the proxy pings an idle browser.
KUMO_CONSOLE_MAX_SECONDS = env_int("KUMO_CONSOLE_MAX_SECONDS", 8 * 3600, minimum=60)
KUMO_CONSOLE_HEARTBEAT = env_int("KUMO_CONSOLE_HEARTBEAT", 20, minimum=1)
# Reverse proxies whose X-Forwarded-Proto / X-Forwarded-For are believed (addresses).
KUMO_TRUSTED_PROXIES = env_list("KUMO_TRUSTED_PROXIES", [])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Rate limits (docs/security.md), all counted by client address (nodes.middleware.client_ip).
# Logins (django-axes): a username, and an address, is locked out for KUMO_LOGIN_COOLOFF
# seconds once KUMO_LOGIN_FAILURES logins failed within that time; the page says how long.
KUMO_LOGIN_FAILURES = env_int("KUMO_LOGIN_FAILURES", 10, minimum=1)
KUMO_LOGIN_COOLOFF = env_int("KUMO_LOGIN_COOLOFF", 900, minimum=1)
AXES_FAILURE_LIMIT = KUMO_LOGIN_FAILURES
AXES_COOLOFF_TIME = timedelta(seconds=KUMO_LOGIN_COOLOFF)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "nodes.middleware.request_client_ip"
AXES_LOCKOUT_CALLABLE = "nodes.lockout.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (AccessAttempt); successes are not
# The API: wrong tokens per address, and requests per user (DRF throttles, per web process).
KUMO_API_TOKEN_FAILURES = env_rate("KUMO_API_TOKEN_FAILURES", "10/minute")
KUMO_API_RATE = env_rate("KUMO_API_RATE", "1200/minute")
# The console proxy: a connection must finish its websocket handshake and token exchange
# within KUMO_CONSOLE_HANDSHAKE_TIMEOUT seconds; connections still doing so are capped, in all
# and per address; an address with KUMO_CONSOLE_TOKEN_FAILURES refused tokens within
# KUMO_CONSOLE_TOKEN_WINDOW seconds is turned away until the oldest of them is that old.
KUMO_CONSOLE_HANDSHAKE_TIMEOUT = env_int("KUMO_CONSOLE_HANDSHAKE_TIMEOUT", 5, minimum=1)
KUMO_CONSOLE_MAX_PENDING = env_int("KUMO_CONSOLE_MAX_PENDING", 64, minimum=1)
KUMO_CONSOLE_MAX_PENDING_PER_ADDRESS = env_int(
    "KUMO_CONSOLE_MAX_PENDING_PER_ADDRESS", 16, minimum=1
)
KUMO_CONSOLE_TOKEN_FAILURES = env_int("KUMO_CONSOLE_TOKEN_FAILURES", 20, minimum=1)
KUMO_CONSOLE_TOKEN_WINDOW = env_int("KUMO_CONSOLE_TOKEN_WINDOW", 300, minimum=1)

# Security headers (docs/security.md). These hold on plain HTTP too: no MIME sniffing, no
# referrer to other sites, no framing, a window of our own, and a strict Content-Security-
# Policy (django-csp; nodes.middleware.ContentSecurityPolicy adds the console proxy's URL).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # CodeMirror and xterm.js add <style> elements: they carry the page's nonce.
        "style-src": [SELF, NONCE],
        # Bootstrap's icons and noVNC's cursor and JPEG rectangles are data: URLs.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# KUMO_HTTPS: browsers reach the console over HTTPS only (a TLS proxy in front, see
# docs/consoles.md): redirect plain HTTP, send HSTS, keep the cookies off plain HTTP.
KUMO_HTTPS = env_bool("KUMO_HTTPS")
SECURE_SSL_REDIRECT = KUMO_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # local probes ask over plain HTTP
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if KUMO_HTTPS else 0
SESSION_COOKIE_SECURE = KUMO_HTTPS
CSRF_COOKIE_SECURE = KUMO_HTTPS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "csp",
    "django_rq",
    "axes",
    "nodes",
    "nodes.metrics",
    "nodes.storage",
]

MIDDLEWARE = [
    "nodes.middleware.trusted_proxy_headers",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nodes.middleware.ContentSecurityPolicy",
    "nodes.middleware.refuse_unserved_methods",
    "nodes.middleware.RefuseNulInFormData",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the login page's 429
]
# django-axes refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Django's user model has no page of its own; Kumo's user pages are its.
ABSOLUTE_URL_OVERRIDES = {"auth.user": lambda user: user_page(user)}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "kumo:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "nodes.api.throttling.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["nodes.api.throttling.UserRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "nodes.api.paging.KeysetPagination",
    "DEFAULT_SCHEMA_CLASS": "nodes.api.schema.ErrorsAutoSchema",
    # API bodies: JSON nested at most 64 deep, oversized bodies a JSON 400 (nodes/api/).
    "DEFAULT_PARSER_CLASSES": [
        "nodes.api.bodies.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "nodes.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kumo API",
    "DESCRIPTION": "Inventory and operations of a libvirt private cloud.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "DomainTypeEnum": "nodes.choices.DomainType",
        "AddressFamilyEnum": "nodes.choices.AddressFamily",
        "AddressSourceEnum": "nodes.choices.AddressSource",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"axes": {"level": "WARNING"}},  # a line per failure, not five
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"]),
    },
}
