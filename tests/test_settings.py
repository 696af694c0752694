"""Bad settings stop the console at start with a clear message and a stable check id."""

import socket

import pytest

from tests.conftest import console_process


def manage_check(var_dir, **env):
    return console_process(["manage.py", "check"], var_dir, **env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT='eighty' must be a whole number"),
        ("DEBUG", "maybe", "DEBUG='maybe' must be true or false"),
        ("REDIS_URL", "http://localhost", "REDIS_URL='http://localhost' must start with redis://"),
        ("DATABASE_URL", "nosuch://x", "DATABASE_URL is not a database URL"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL='CHATTY' must be one of"),
        ("KUMO_PROBE_TIMEOUT", "0", "KUMO_PROBE_TIMEOUT='0' must be a whole number ≥ 1"),
        ("KUMO_API_RATE", "lots", "KUMO_API_RATE='lots' must be a number of requests per"),
    ],
)
def test_a_bad_setting_fails_the_check_with_its_name(name, value, message, tmp_path):
    result = manage_check(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "kumo.E001" in result.stderr and message in result.stderr


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ENTRY_POINTS = {
    "web": ["-m", "gunicorn", "console.wsgi", "--no-control-socket", "--bind"],  # + address
    "worker": ["manage.py", "rqworker", "default", "--worker-class", "rq.worker.SimpleWorker"],
    "watcher": ["manage.py", "runwatcher"],
    "collector": ["manage.py", "runcollector"],
    "proxy": ["-m", "console.proxy"],
}


@pytest.mark.parametrize("process", ENTRY_POINTS)
def test_every_process_refuses_to_start_on_a_bad_setting(process, tmp_path):
    port = free_port()
    args = ENTRY_POINTS[process] + ([f"127.0.0.1:{port}"] if process == "web" else [])
    result = console_process(
        args, tmp_path, timeout=30, KUMO_PROBE_TIMEOUT="abc", CONSOLE_PORT=str(port)
    )
    assert result.returncode != 0
    assert "(kumo.E001) KUMO_PROBE_TIMEOUT='abc' must be a whole number" in result.stderr


def test_good_settings_pass_and_a_secret_key_is_generated_once(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50 and oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    manage_check(tmp_path)
    assert (tmp_path / "secret_key").read_text() == key


def test_a_var_dir_that_cannot_hold_the_secret_key_is_reported(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = manage_check(tmp_path / "a-file" / "var")
    assert result.returncode != 0
    assert "kumo.E001" in result.stderr and "cannot be kept in KUMO_VAR_DIR" in result.stderr


def loaded_modules(imports, condition, var_dir):
    """The modules matching condition (an expression on m) that a console process has loaded
    after running imports."""
    code = (
        f"import sys, django; django.setup(); {imports}; "
        f"print(sorted(m for m in sys.modules if {condition}))"
    )
    result = console_process(["-c", code], var_dir)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_pages_and_the_api_never_load_libvirt(tmp_path):
    """Every libvirt call happens in a worker or the watcher (DESIGN.md §2)."""
    imports = (
        "from django.urls import get_resolver; get_resolver().url_patterns; import console.wsgi"
    )
    assert loaded_modules(imports, "'libvirt' in m", tmp_path) == "[]"


def test_the_proxy_and_the_watcher_load_neither_the_runners_nor_the_jobs(tmp_path):
    """They talk to nodes through nodes.libvirt and the models, not through the actions."""
    imports = "import nodes.consoles.proxy, nodes.watcher"
    assert loaded_modules(imports, "m in ('nodes.runners', 'nodes.jobs')", tmp_path) == "[]"
