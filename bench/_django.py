"""Set up Django for a benchmark on a throw-away SQLite database with the demo cloud."""

import atexit
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def setup(database_url=None):
    """Django on a throw-away SQLite database, or on database_url's PostgreSQL database,
    dropped and created afresh."""
    sys.path.insert(0, str(ROOT))
    var_dir = tempfile.mkdtemp(prefix="kumo-bench-")
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    os.environ["KUMO_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        recreate_postgres_database(database_url)
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("seeddemo", stdout=io.StringIO())


def recreate_postgres_database(url):
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
