"""Set up Django for a benchmark on a throw-away SQLite database with the demo cloud."""

import atexit
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup():
    sys.path.insert(0, str(ROOT))
    var_dir = tempfile.mkdtemp(prefix="kumo-bench-")
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    os.environ["KUMO_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("seeddemo", stdout=io.StringIO())
