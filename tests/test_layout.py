"""The seams hold by lint: ruff (pyproject.toml's banned-api) refuses libvirt outside
nodes/libvirt/ and lxml's XSLT outside nodes/domainxml/."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize(
    ("code", "banned"),
    [
        ("import libvirt\n", "`libvirt` is banned"),
        (
            "from lxml import etree\n\netree.XSLT(etree.XML('<x/>'))\n",
            "`lxml.etree.XSLT` is banned",
        ),
        ("from lxml.etree import XSLTAccessControl\n", "`lxml.etree.XSLTAccessControl` is banned"),
    ],
)
def test_ruff_refuses_libvirt_and_xslt_in_a_view(code, banned):
    probe = ROOT / "nodes" / "views" / "_lint_probe.py"
    probe.write_text(code)
    try:
        result = subprocess.run(
            [RUFF, "check", "--no-cache", "--config", "pyproject.toml", probe],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        probe.unlink()
    assert result.returncode == 1
    assert "TID251" in result.stdout and banned in result.stdout


def test_the_web_process_does_not_load_libvirt():
    """Pages and the API never talk to a node: only workers, the watcher, the collector and
    the console proxy load libvirt (DESIGN.md §10.6)."""
    program = (
        "import django, sys; django.setup(); from django.urls import get_resolver; "
        "get_resolver().url_patterns; import console.wsgi; print('libvirt' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "False"
