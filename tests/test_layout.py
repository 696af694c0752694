"""The seams hold by lint: ruff (pyproject.toml's banned-api) refuses libvirt outside
nodes/libvirt/ and lxml's XSLT outside nodes/domainxml/."""

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
