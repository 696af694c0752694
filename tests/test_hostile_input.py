"""What a hostile member or a careless admin can send: text XML cannot carry is refused at
the door, an instance broken by other means never blocks a rule change for the others, and
a stylesheet's output stays within limits that are named when hit (issue 10, items 1, 2, 4)."""

import base64
import json

import pytest
from lxml import etree

from nodes.domainxml import pipeline, sandbox
from nodes.domainxml.chain import Stage
from nodes.models import Image, Instance, InstanceType, Node, Rule

IDENTITY = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
</xsl:stylesheet>"""
# Output nesting 300 levels (lxml's parser stops at 256).
DEEP = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><domain><name>x</name><memory>1</memory><devices/>
    <xsl:call-template name="nest"><xsl:with-param name="n" select="300"/></xsl:call-template>
  </domain></xsl:template>
  <xsl:template name="nest"><xsl:param name="n"/><xsl:if test="$n &gt; 0"><d>
    <xsl:call-template name="nest"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template>
  </d></xsl:if></xsl:template>
</xsl:stylesheet>"""
# A string doubled `times` times: 2**24 characters is a 16 MiB text node, 2**29 needs GiBs.
DOUBLING = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><domain><name>x</name><memory>1</memory><devices/><description>
    <xsl:call-template name="dup"><xsl:with-param name="s" select="'x'"/>
      <xsl:with-param name="n" select="TIMES"/></xsl:call-template>
  </description></domain></xsl:template>
  <xsl:template name="dup"><xsl:param name="s"/><xsl:param name="n"/><xsl:choose>
    <xsl:when test="$n = 0"><xsl:value-of select="$s"/></xsl:when>
    <xsl:otherwise><xsl:call-template name="dup"><xsl:with-param name="s" select="concat($s, $s)"/>
      <xsl:with-param name="n" select="$n - 1"/></xsl:call-template></xsl:otherwise>
  </xsl:choose></xsl:template>
</xsl:stylesheet>"""


def launch_body(**fields):
    return {
        "image": Image.objects.get(kind="machine").ec2_id,
        "instance_type": "m1.small",
        **fields,
    }


@pytest.mark.parametrize("name", ["poison\u0001name", "poison\uffffname", "a\ud800b"])
def test_a_launch_named_with_what_xml_cannot_carry_is_refused_at_the_door(
    demo_sim, member_a, api, queue, name
):
    api.force_authenticate(member_a)
    body = json.dumps(launch_body(name=name))  # ASCII, with \u escapes: a lone surrogate too
    response = api.post("/api/v1/instances/", body, content_type="application/json")
    assert response.status_code == 400
    assert "XML cannot carry" in response.json()["name"][0]
    assert not Instance.objects.exists()


def test_user_data_with_a_control_character_is_refused_with_a_field_error(
    demo_sim, member_a, api, member_client, queue
):
    api.force_authenticate(member_a)
    body = launch_body(user_data="#!/bin/sh\necho \u0001\n")
    response = api.post("/api/v1/instances/", body, format="json")
    assert response.status_code == 400
    assert "U+0001" in response.json()["user_data"][0]
    page = member_client.post("/instances/new/", {**body, "count": 1})
    assert page.status_code == 200
    assert "U+0001" in page.context["form"].errors["user_data"][0]
    assert not Instance.objects.exists()


def test_a_keypair_whose_comment_holds_a_control_character_is_refused(member_a, api):
    api.force_authenticate(member_a)
    key = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\u0007y"
    )
    response = api.post("/api/v1/keypairs/", {"name": "k", "public_key": key}, format="json")
    assert response.status_code == 400
    assert "U+0007" in str(response.json())


def demo_instance(owner, **fields):
    """An instance of the demo's disk on the sim node, saved without the door's checks."""
    node = Node.objects.get(name="sim")
    return Instance.objects.create(
        owner=owner,
        cluster=node.cluster,
        node=node,
        image=Image.objects.get(kind="machine"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        **fields,
    )


@pytest.fixture
def broken(demo, member_a):
    """An active instance whose name was made unusable behind the door's back."""
    instance = demo_instance(member_a, vm_state="active")
    Instance.objects.filter(pk=instance.pk).update(name="poison\u0001name")
    return instance


def test_an_unrenderable_instance_does_not_block_rule_changes(broken, admin, api):
    api.force_authenticate(admin)
    created = api.post("/api/v1/rules/", {"name": "r", "text": IDENTITY}, format="json")
    assert created.status_code == 201, created.json()
    rule = created.json()["id"]
    rollback = api.post(f"/api/v1/rules/{rule}/rollback/", {"revision": 1}, format="json")
    assert rollback.status_code == 201
    preview = api.post(
        "/api/v1/rules/preview/", {"stylesheet": IDENTITY, "instance": broken.ec2_id}, format="json"
    )
    assert preview.status_code == 200
    assert "instance.xml cannot be built" in preview.json()["errors"][0]["message"]


def test_the_review_page_lists_an_unrenderable_instance_and_lets_the_change_through(
    broken, admin_client
):
    rule = Rule.objects.create(name="r")
    rule.revise(IDENTITY, None)
    review = admin_client.post(f"/rules/{rule.pk}/enable/")
    assert review.status_code == 200
    assert broken.ec2_id in review.content.decode()
    assert "cannot be rendered already" in review.content.decode()
    assert admin_client.post(f"/rules/{rule.pk}/enable/", {"confirm": "1"}).status_code == 302
    assert Rule.objects.get(pk=rule.pk).enabled


def test_no_byte_of_stored_user_data_can_stop_a_render(demo, member_a):
    raw = b"bootparams=console=ttyS0 \x01\x1b[0m\nboth \xef\xbf\xbf\n"
    instance = demo_instance(member_a, user_data=base64.b64encode(raw).decode())
    rendered = pipeline.render(instance)
    assert rendered.outcome.ok, rendered.outcome.errors


def render(text, helper):
    request = sandbox.Request(b"<instance/>", (sandbox.Chain((Stage("limits", text),)),), {})
    return helper.render(request)[0]


def test_a_preview_nesting_past_the_limit_names_it(demo, admin, api):
    api.force_authenticate(admin)
    response = api.post("/api/v1/rules/preview/", {"stylesheet": DEEP}, format="json")
    assert response.status_code == 200
    assert "deeper than the limit of 64 levels" in response.json()["errors"][0]["message"]


def test_a_preview_making_a_huge_text_names_the_size_limit(demo, admin, api):
    api.force_authenticate(admin)
    huge = DOUBLING.replace("TIMES", "24")
    response = api.post("/api/v1/rules/preview/", {"stylesheet": huge}, format="json")
    assert response.status_code == 200
    assert "16.0 MiB, over the limit of 1 MiB" in response.json()["errors"][0]["message"]


def test_a_stylesheet_eating_memory_is_stopped_at_the_helpers_limit_and_the_next_render_works():
    helper = sandbox.Sandbox(time_limit=20)  # the memory limit, not the time limit, must stop it
    outcome = render(DOUBLING.replace("TIMES", "29"), helper)
    assert f"limit of {sandbox.MEMORY_LIMIT_MB} MiB of memory" in outcome.errors[0].message
    fine = render(DOUBLING.replace("TIMES", "3"), helper)
    assert fine.ok
    assert etree.fromstring(fine.domain_xml).findtext("description").strip() == "x" * 8
    assert "<description>" in fine.indented
