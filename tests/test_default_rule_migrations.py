"""The data migrations that bring a new shipped default stylesheet to a default rule still as
an earlier Kumo shipped it, and leave one an admin edited alone. Each earlier text is the
shipped one with the later changes undone (HISTORY, newest first)."""

import hashlib
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from nodes.domainxml import pipeline
from nodes.models import Rule

pytestmark = pytest.mark.django_db

TUNING = [  # 0018: the instance's tuning: CPU weight and cap, memory and vCPUs now
    (
        '      <currentMemory unit="KiB"><xsl:value-of select="/instance/kumo/tuning/@currentMemoryKB"/></currentMemory>\n'
        '      <vcpu placement="static">\n'
        '        <xsl:if test="/instance/kumo/tuning/@currentCores &lt; /instance/cores">\n'
        '          <xsl:attribute name="current"><xsl:value-of select="/instance/kumo/tuning/@currentCores"/></xsl:attribute>\n'
        "        </xsl:if>\n"
        '        <xsl:value-of select="/instance/cores"/>\n'
        "      </vcpu>\n"
        '      <xsl:call-template name="cputune"/>\n',
        '      <currentMemory unit="KiB"><xsl:value-of select="/instance/memoryKB"/></currentMemory>\n'
        '      <vcpu placement="static"><xsl:value-of select="/instance/cores"/></vcpu>\n',
    ),
    (
        "  <!-- The instance's CPU weight (XenServer's 1-65536, 256 normal) as cgroup shares (x4:\n"
        "       libvirt's normal is 1024) and its cap (% of one CPU, 0 none) as a quota on the whole\n"
        "       instance; nothing when both are at their defaults. -->\n"
        '  <xsl:template name="cputune">\n'
        '    <xsl:variable name="tuning" select="/instance/kumo/tuning"/>\n'
        '    <xsl:if test="$tuning/@weight != 256 or $tuning/@cap &gt; 0">\n'
        "      <cputune>\n"
        '        <shares><xsl:value-of select="$tuning/@weight * 4"/></shares>\n'
        '        <xsl:if test="$tuning/@cap &gt; 0">\n'
        "          <global_period>100000</global_period>\n"
        '          <global_quota><xsl:value-of select="$tuning/@cap * 1000"/></global_quota>\n'
        "        </xsl:if>\n"
        "      </cputune>\n"
        "    </xsl:if>\n"
        "  </xsl:template>\n",
        "",
    ),
]
CDROM = [  # 0016: an ISO image in a CD-ROM drive, booted first
    (
        '        <xsl:if test="/instance/kumo/cdrom and not($paravirtual)">\n'
        '          <xsl:call-template name="cdrom"/>\n'
        "        </xsl:if>\n",
        "",
    ),
    (
        "        <xsl:otherwise>\n"
        '          <xsl:if test="/instance/kumo/cdrom and not($paravirtual)">'
        '<boot dev="cdrom"/></xsl:if>\n'
        '          <boot dev="hd"/>\n'
        "        </xsl:otherwise>\n",
        '        <xsl:otherwise><boot dev="hd"/></xsl:otherwise>\n',
    ),
    (
        "  <!-- An ISO image (an installer's) in a CD-ROM drive beside the config drive's. -->\n"
        '  <xsl:template name="cdrom">\n'
        '    <disk type="file" device="cdrom">\n'
        '      <xsl:if test="$emulated"><driver name="qemu" type="raw"/></xsl:if>\n'
        '      <source file="{/instance/kumo/cdrom/@path}"/>\n'
        '      <target dev="hdd" bus="ide"/>\n'
        "      <readonly/>\n"
        "    </disk>\n"
        "  </xsl:template>\n"
        "\n",
        "",
    ),
]
VOLUMES = [  # 0013: attached volumes as disks
    ('        <xsl:apply-templates select="/instance/volumes/volume/diskPath"/>\n', ""),
]
GUEST_AGENT = [  # 0010: the guest agent's channel, balloon statistics
    (
        "          <!-- The QEMU guest agent's channel: through it, Kumo reads the guest's "
        "addresses. -->\n"
        '          <channel type="unix">\n'
        '            <source mode="bind"/>\n'
        '            <target type="virtio" name="org.qemu.guest_agent.0"/>\n'
        "          </channel>\n",
        "",
    ),
    (
        "          <!-- Balloon statistics every 10 s (the collector's default interval): the "
        "guest's\n"
        "               own view of its memory, once its balloon driver runs. -->\n"
        '          <memballoon model="virtio"><stats period="10"/></memballoon>\n',
        '          <memballoon model="virtio"/>\n',
    ),
]
# migration, its function, what it undoes, a word of its revision message
HISTORY = [
    ("0018_default_rule_tuning", "render_tuning", TUNING, "tuning"),
    ("0016_default_rule_cdrom", "boot_cdrom", CDROM, "CD-ROM"),
    ("0013_default_rule_volumes", "render_volumes", VOLUMES, "volumes"),
    ("0010_default_rule_guest_agent", "add_guest_agent_channel", GUEST_AGENT, "guest agent"),
]


def shipped_before(migration):
    """The default stylesheet as it was before migration brought its change."""
    text = pipeline.shipped_default_text()
    for name, _, changes, _ in HISTORY:
        for now, before in changes:
            assert now in text, (name, now)
            text = text.replace(now, before)
        if name == migration:
            return text
    raise LookupError(migration)


def run(migration, function):
    module = importlib.import_module(f"nodes.migrations.{migration}")
    getattr(module, function)(apps, SimpleNamespace(connection=connection))
    return module


@pytest.mark.parametrize("migration, function, changes, word", HISTORY)
def test_the_text_before_is_the_one_the_migration_knows(migration, function, changes, word):
    module = importlib.import_module(f"nodes.migrations.{migration}")
    before = hashlib.sha256(shipped_before(migration).encode()).hexdigest()
    assert before == module.PREVIOUS_SHIPPED


@pytest.mark.parametrize("migration, function, changes, word", HISTORY)
def test_it_brings_the_shipped_text_to_a_default_still_as_shipped(
    admin, migration, function, changes, word
):
    rule = pipeline.default_rule()
    rule.revise(shipped_before(migration), None, "older Kumo")
    run(migration, function)
    rule.refresh_from_db()
    assert rule.current.text == pipeline.shipped_default_text()
    assert word in rule.current.message
    run(migration, function)  # once is enough
    assert Rule.objects.get(pk=rule.pk).current == rule.current


@pytest.mark.parametrize("migration, function, changes, word", HISTORY)
def test_it_leaves_an_edited_default_alone(admin, migration, function, changes, word):
    rule = pipeline.default_rule()
    edited = rule.revise(shipped_before(migration) + "<!-- mine -->\n", admin, "mine")
    run(migration, function)
    rule.refresh_from_db()
    assert rule.current == edited
