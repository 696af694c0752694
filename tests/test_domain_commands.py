"""The xsltproc-like commands: manage.py instancexml and renderdomain."""

import io

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from nodes.models import Image, Instance, InstanceType, Node


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def instance(demo, admin):
    node = Node.objects.get(name="local")
    return Instance.objects.create(
        owner=admin,
        cluster=node.cluster,
        node=node,
        image=Image.objects.get(kind="machine"),
        kernel=Image.objects.get(kind="kernel"),
        instance_type=InstanceType.objects.first(),
    )


def test_instancexml_prints_an_instances_instance_xml(instance):
    out, _ = run("instancexml", instance.ec2_id)
    root = etree.fromstring(out.encode())
    assert root.findtext("name") == instance.ec2_id and root.findtext("kernel")


def test_instancexml_has_a_sample_on_the_demo_images(demo):
    out, _ = run("instancexml", "--sample")
    assert etree.fromstring(out.encode()).findtext("imageId").startswith("emi-")


def test_renderdomain_prints_the_domain(instance):
    out, _ = run("renderdomain", instance.ec2_id)
    domain = etree.fromstring(out.encode())
    assert domain.tag == "domain" and domain.get("type") == "qemu"


def test_renderdomain_takes_another_stylesheet_and_no_rules(demo, tmp_path):
    sheet = tmp_path / "libvirt.xsl"
    sheet.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><domain type="test"><name><xsl:value-of select="/instance/name"/>'
        "</name><memory>1</memory><devices/></domain></xsl:template></xsl:stylesheet>"
    )
    out, _ = run("renderdomain", "--sample", "--stylesheet", str(sheet), "--no-rules")
    assert etree.fromstring(out.encode()).findtext("name") == "i-5A3F1E00"


def test_renderdomain_exits_1_with_the_line_and_column(demo, tmp_path):
    sheet = tmp_path / "broken.xsl"
    sheet.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">\n'
        '<xsl:template match="/">\n</xsl:stylesheet>'
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("renderdomain", "--sample", "--stylesheet", str(sheet), stdout=out, stderr=err)
    assert exit_.value.code == 1 and out.getvalue() == ""
    assert "error: Default stylesheet line 3, column" in err.getvalue()


def test_an_unknown_instance_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No instance i-00000000"):
        run("renderdomain", "i-00000000")


BAD_MEMORY = (
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
    '<xsl:template match="/"><domain type="test"><name>x</name><memory>lots</memory><devices/>'
    "</domain></xsl:template></xsl:stylesheet>"
)


def test_renderdomain_check_asks_libvirt_on_the_node(instance):
    _, err = run("renderdomain", instance.ec2_id, "--check")
    assert "libvirt on local accepts the domain" in err


def test_renderdomain_check_exits_1_with_libvirts_reason(demo, tmp_path):
    sheet = tmp_path / "bad.xsl"
    sheet.write_text(BAD_MEMORY)
    Node.objects.exclude(name="sim").delete()  # the sample goes to the first node
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "renderdomain",
            "--sample",
            "--stylesheet",
            str(sheet),
            "--no-rules",
            "--check",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert exit_.value.code == 1 and "libvirt on sim refuses the domain" in err.getvalue()
