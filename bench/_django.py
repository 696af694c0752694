"""Set up Django for a benchmark on a throw-away SQLite database with the demo cloud."""

import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup():
    sys.path.insert(0, str(ROOT))
    os.environ["KUMO_VAR_DIR"] = tempfile.mkdtemp(prefix="kumo-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("seeddemo", stdout=io.StringIO())
