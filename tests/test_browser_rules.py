"""The rule editor in a real browser: type, see the preview follow, see the error marker."""

import pytest

from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HUGEPAGES = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
<xsl:template match="currentMemory"><xsl:copy-of select="."/><memoryBacking><hugepages/></memoryBacking></xsl:template>
</xsl:stylesheet>"""


@pytest.fixture
def editor(page, live_server, admin, demo):
    log_in(page, live_server, "alice", "pw")
    page.goto(f"{live_server.url}/rules/new/")
    page.wait_for_selector("form[data-preview-state=ok]")
    return page


def replace_text(page, text):
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def preview_count(page):
    return int(page.get_attribute("form[data-rule-editor]", "data-preview-count") or 0)


def test_the_preview_follows_typing(editor):
    assert "<domain" in editor.inner_text("#pane-domain")
    replace_text(editor, HUGEPAGES)
    editor.wait_for_function(
        "() => document.querySelector('#pane-domain').textContent.includes('<hugepages/>')"
    )
    editor.click("button[data-bs-target='#pane-diff']")
    assert "+  <memoryBacking>" in editor.inner_text("#pane-diff")


def test_an_error_gets_a_marker_on_its_line(editor):
    replace_text(editor, HUGEPAGES)
    editor.wait_for_selector("form[data-preview-state=ok]")
    before = preview_count(editor)
    editor.click(".cm-line >> nth=2")
    editor.keyboard.press("End")
    editor.keyboard.type("<xsl:bogus/>")
    editor.wait_for_selector("form[data-preview-state=error]")
    editor.wait_for_selector(".cm-lint-marker-error")
    assert preview_count(editor) > before
    assert "bogus" in editor.inner_text("#preview-problems")
    assert "line 3" in editor.inner_text("#preview-problems")


def test_the_sample_picker_changes_the_preview(editor):
    editor.select_option("#sample-type", "m1.xlarge")
    editor.wait_for_function(
        "() => document.querySelector('#pane-domain').textContent.includes('>4</vcpu>')"
    )


def test_check_with_libvirt_shows_the_nodes_answer(editor, worker_soon):
    editor.select_option("#sample-node", "sim")
    editor.click("[data-check-url]")
    worker_soon()
    editor.wait_for_function(
        "() => document.querySelector('#check-status').textContent.includes("
        "'libvirt on sim accepts')",
        timeout=30_000,
    )
