"""Rules: revisions, rollback, scope, chain order, preview, impact, the API and the pages."""

import copy
import io

import pytest
from django.core.management import call_command
from lxml import etree

from nodes.api.rules import NOT_RESET
from nodes.domainxml import pipeline, review
from nodes.models import Image, Instance, InstanceType, Node, Rule

DEFAULT_NAME = "Default stylesheet"  # as the migration names it
HUGEPAGES = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="currentMemory">
    <xsl:copy-of select="."/><memoryBacking><hugepages/></memoryBacking>
  </xsl:template>
</xsl:stylesheet>
"""


TERMINATES = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:message terminate="yes">no hugepages here</xsl:message></xsl:template>
</xsl:stylesheet>
"""


def tag_text(tag):
    """A rule that appends +tag to the domain's <description>: shows order and scope."""
    return f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="description"><description><xsl:value-of select="."/>+{tag}</description></xsl:template>
</xsl:stylesheet>"""


def tag_rule(name, tag, **fields):
    rule = Rule.objects.create(name=name, enabled=True, **fields)
    rule.revise(tag_text(tag), None, "test")
    return rule


@pytest.fixture
def instance(demo, admin):
    node = Node.objects.get(name="sim")
    return Instance.objects.create(
        owner=admin,
        cluster=node.cluster,
        node=node,
        image=Image.objects.get(name="empty-disk"),
        instance_type=InstanceType.objects.get(name="m1.small"),
        name="web",
    )


def description(rendered):
    return etree.fromstring(rendered.outcome.domain_xml).findtext("description")


def test_a_fresh_database_has_the_default_stylesheet_from_the_shipped_file(db):
    rule = pipeline.default_rule()
    assert rule.is_default and rule.name == DEFAULT_NAME and rule.current.number == 1
    assert rule.current.text == pipeline.shipped_default_text()
    assert list(Rule.objects.filter(is_default=True)) == [rule]


def test_revisions_count_up_and_an_unchanged_text_adds_none(db, admin):
    rule = Rule.objects.create(name="r")
    assert rule.revise("a", admin).number == 1
    assert rule.revise("b", admin, "second").number == 2
    assert rule.revise("b", admin).number == 2
    assert "-a" in rule.current.diff_from(rule.revisions.get(number=1))


def test_rules_apply_in_position_order_after_the_default(instance):
    tag_rule("second", "B", position=20)
    tag_rule("first", "A", position=10)
    assert description(pipeline.render(instance)).endswith("+A+B")


def test_disabled_rules_are_left_out(instance):
    rule = tag_rule("off", "X")
    Rule.objects.filter(pk=rule.pk).update(enabled=False)
    assert "+X" not in description(pipeline.render(instance))


@pytest.mark.parametrize(
    ("scope", "target"),
    [
        ("cluster", "cluster"),
        ("node", "node"),
        ("image", "image"),
        ("instance_type", "instance_type"),
        ("owner", "owner"),
    ],
)
def test_a_scoped_rule_applies_only_to_its_target(instance, scope, target, member_a):
    tag_rule("mine", "M", scope=scope, **{target: getattr(instance, target)})
    assert description(pipeline.render(instance)).endswith("+M")
    other = {
        "cluster": lambda: type(instance.cluster).objects.create(name="other"),
        "node": lambda: Node.objects.get(name="local"),
        "image": lambda: Image.objects.exclude(pk=instance.image_id).first(),
        "instance_type": lambda: InstanceType.objects.get(name="m1.large"),
        "owner": lambda: member_a,
    }[scope]()
    setattr(instance, target, other)
    assert "+M" not in description(pipeline.render(instance))


def test_the_rendered_domain_says_which_revisions_made_it(instance):
    rule = tag_rule("why", "W")
    rendered = pipeline.render(instance)
    instance.record_domain(rendered.domain_text, rendered.stylesheets)
    instance.refresh_from_db()
    assert instance.rendered_with[-1] == {"rule": rule.pk, "name": "why", "revision": 1}
    assert instance.rendered_with[0]["name"] == DEFAULT_NAME
    assert "+W" in instance.domain_xml


def new_rule(**fields):
    return Rule(**{"name": "New rule", "enabled": True, **fields})


def test_a_preview_shows_the_rules_effect_and_saves_nothing(instance):
    before = Rule.objects.count()
    rendered, diff = pipeline.preview(instance, new_rule(), HUGEPAGES)
    assert rendered.outcome.errors == [] and "<hugepages/>" in rendered.domain_text
    assert "+  <memoryBacking>" in diff
    assert Rule.objects.count() == before


def test_previewing_a_saved_rule_diffs_against_the_chain_without_it(instance):
    rule = tag_rule("edit-me", "E")
    _, diff = pipeline.preview(instance, rule, HUGEPAGES)
    assert "<hugepages/>" in diff and "+E" not in diff


def test_previewing_a_saved_rule_can_diff_against_its_saved_revision(instance):
    rule = tag_rule("edit-me", "E")
    _, diff = pipeline.preview(instance, rule, HUGEPAGES, against="saved")
    assert "+  <memoryBacking>" in diff and "alice+E</description>" in diff


def test_a_previewed_rule_runs_at_its_edited_position(instance):
    tag_rule("at-20", "B", position=20)
    rendered, _ = pipeline.preview(instance, new_rule(position=10), tag_text("A"))
    assert description(rendered).endswith("+A+B")
    rendered, _ = pipeline.preview(instance, new_rule(position=30), tag_text("A"))
    assert description(rendered).endswith("+B+A")


def test_a_disabled_rule_is_previewed_as_if_enabled(instance):
    rule = tag_rule("off", "X")
    Rule.objects.filter(pk=rule.pk).update(enabled=False)
    rule.refresh_from_db()
    rendered, diff = pipeline.preview(instance, rule, tag_text("Y"))
    assert description(rendered).endswith("+Y") and "+Y" in diff


def test_a_preview_on_an_instance_outside_the_scope_says_the_rule_is_not_applied(instance):
    other = Node.objects.get(name="local")
    rendered, diff = pipeline.preview(instance, new_rule(scope="node", node=other), HUGEPAGES)
    assert diff == "" and "<hugepages/>" not in rendered.domain_text
    assert "is for the node local, which this instance does not have" in str(
        rendered.outcome.warnings[0]
    )


def test_a_review_lists_the_instances_whose_domain_would_change(instance, admin):
    rule = tag_rule("scoped", "S", scope="node", node=instance.node)
    checked = review.review(pipeline.Override(rule, HUGEPAGES), admin)
    assert [effect.instance for effect in checked.changed] == [instance]
    assert "<hugepages/>" in checked.changed[0].diff and checked.broken == []
    assert review.review(pipeline.Override(rule, rule.current.text), admin).effects == []


def test_a_review_follows_the_edited_scope_and_enabled_flag(instance, admin):
    rule = tag_rule("scoped", "S")
    elsewhere = copy.copy(rule)
    elsewhere.scope, elsewhere.node = "node", Node.objects.get(name="local")
    removed = review.review(pipeline.Override(elsewhere, rule.current.text), admin)
    assert "alice+S</description>" in removed.changed[0].diff
    disabled = copy.copy(rule)
    disabled.enabled = False
    assert review.review(pipeline.Override(disabled, HUGEPAGES), admin).changed[0].instance == (
        instance
    )
    assert review.review(pipeline.Override(new_rule(enabled=False), HUGEPAGES), admin).effects == []


def test_a_review_reports_the_instances_a_change_breaks(instance, admin):
    broken = review.review(pipeline.Override(new_rule(), TERMINATES), admin).broken
    assert [effect.instance for effect in broken] == [instance]
    assert "no hugepages here" in str(broken[0].errors[0])


def test_a_review_runs_a_rule_no_instance_has_yet_on_a_sample(instance, admin):
    rule = new_rule(scope="node", node=Node.objects.get(name="local"))
    broken = review.review(pipeline.Override(rule, TERMINATES), admin).broken
    assert [effect.label for effect in broken] == ["a sample instance"]


# The API


@pytest.fixture
def admin_api(api, admin):
    api.force_authenticate(admin)
    return api


def test_the_api_creates_a_rule_with_its_first_revision(admin_api, demo):
    response = admin_api.post(
        "/api/v1/rules/",
        {
            "name": "huge",
            "scope": "node",
            "node": "sim",
            "text": HUGEPAGES,
            "enabled": True,
            "message": "try huge pages",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["revision"], body["node"], body["scope"]) == (1, "sim", "node")
    revisions = admin_api.get(f"/api/v1/rules/{body['id']}/revisions/").json()
    assert revisions[0]["message"] == "try huge pages" and revisions[0]["author"] == "alice"


def test_the_api_refuses_a_stylesheet_that_does_not_compile(admin_api, db):
    response = admin_api.post(
        "/api/v1/rules/", {"name": "bad", "text": "<xsl:stylesheet"}, format="json"
    )
    assert response.status_code == 400 and "Not well-formed" in response.json()["text"][0]
    assert not Rule.objects.filter(name="bad").exists()


def test_the_api_needs_the_target_of_a_scope(admin_api, db):
    response = admin_api.post(
        "/api/v1/rules/", {"name": "n", "scope": "node", "text": HUGEPAGES}, format="json"
    )
    assert response.status_code == 400 and "node" in response.json()


def test_the_api_updates_rolls_back_and_diffs(admin_api, db):
    rule_id = admin_api.post(
        "/api/v1/rules/", {"name": "r", "text": HUGEPAGES}, format="json"
    ).json()["id"]
    changed = HUGEPAGES.replace("<hugepages/>", "<hugepages/><nosharepages/>")
    assert (
        admin_api.patch(f"/api/v1/rules/{rule_id}/", {"text": changed}, format="json").json()[
            "revision"
        ]
        == 2
    )
    diff = admin_api.get(f"/api/v1/rules/{rule_id}/diff/?from=1&to=2").json()["diff"]
    assert "+" in diff and "nosharepages" in diff
    back = admin_api.post(f"/api/v1/rules/{rule_id}/rollback/", {"revision": 1}, format="json")
    assert back.status_code == 201 and back.json()["number"] == 3
    assert admin_api.get(f"/api/v1/rules/{rule_id}/").json()["text"] == HUGEPAGES
    assert (
        admin_api.post(
            f"/api/v1/rules/{rule_id}/rollback/", {"revision": 9}, format="json"
        ).status_code
        == 400
    )


def test_the_default_stylesheet_cannot_be_deleted(admin_api, db):
    default = pipeline.default_rule()
    assert admin_api.delete(f"/api/v1/rules/{default.pk}/").status_code == 400


def test_the_preview_endpoint_returns_the_domain_errors_warnings_and_diff(admin_api, instance):
    response = admin_api.post(
        "/api/v1/rules/preview/",
        {
            "stylesheet": HUGEPAGES,
            "instance": instance.ec2_id,
            "rule": None,
        },
        format="json",
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"domain_xml", "errors", "warnings", "diff"}
    assert "<hugepages/>" in body["domain_xml"] and body["errors"] == []


def test_the_preview_on_a_sample_uses_the_chosen_parts(admin_api, demo):
    kernel = Image.objects.get(kind="kernel")
    response = admin_api.post(
        "/api/v1/rules/preview/",
        {
            "stylesheet": HUGEPAGES,
            "node": "local",
            "instance_type": "m1.large",
            "kernel": kernel.ec2_id,
            "user_data": "Ym9vdHBhcmFtcz12bmMK",
        },
        format="json",
    )
    domain = etree.fromstring(response.json()["domain_xml"].encode())
    assert domain.findtext("vcpu") == "2" and domain.get("type") == "qemu"
    assert domain.findtext("os/kernel").endswith(kernel.ec2_id)


def test_the_preview_reports_an_unknown_instance(admin_api, demo):
    response = admin_api.post(
        "/api/v1/rules/preview/", {"stylesheet": HUGEPAGES, "instance": "i-00000000"}, format="json"
    )
    assert response.status_code == 400 and "No instance" in response.json()["instance"]


def test_members_cannot_reach_rules(api, member_a, client, db):
    api.force_authenticate(member_a)
    assert api.get("/api/v1/rules/").status_code == 403
    assert (
        api.post("/api/v1/rules/preview/", {"stylesheet": HUGEPAGES}, format="json").status_code
        == 403
    )
    client.force_login(member_a)
    assert client.get("/rules/").status_code == 403


# The pages


def test_the_rule_list_shows_the_chain(admin_client, demo):
    page = admin_client.get("/rules/").content.decode()
    assert DEFAULT_NAME in page and "Rule library" in page


def test_saving_in_the_editor_shows_the_impact_first(admin_client, instance):
    form = {
        "name": "huge",
        "scope": "global",
        "position": 10,
        "enabled": "on",
        "text": HUGEPAGES,
        "message": "m",
    }
    review = admin_client.post("/rules/new/", form).content.decode()
    assert "Before saving: the impact" in review and instance.ec2_id in review
    assert not Rule.objects.filter(name="huge").exists()
    response = admin_client.post("/rules/new/", {**form, "confirm": "1"})
    rule = Rule.objects.get(name="huge")
    assert response.status_code == 302 and rule.current.message == "m"


def test_the_editor_reports_a_broken_stylesheet_on_its_field(admin_client, demo):
    form = {
        "name": "x",
        "scope": "global",
        "position": 1,
        "text": "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'><xsl:template match='/'><xsl:bogus/></xsl:template></xsl:stylesheet>",
    }
    page = admin_client.post("/rules/new/", form).content.decode()
    assert "bogus" in page and not Rule.objects.filter(name="x").exists()


def test_history_diffs_two_revisions_and_rolls_back(admin_client, db, admin):
    rule = Rule.objects.create(name="h")
    rule.revise("one\n", admin, "first")
    rule.revise("two\n", admin, "second")
    page = admin_client.get(f"/rules/{rule.pk}/history/?from=1&to=2").content.decode()
    assert "-one" in page and "+two" in page
    review_page = admin_client.post(f"/rules/{rule.pk}/rollback/1/").content.decode()
    assert "Roll h back to r1" in review_page and rule.revisions.count() == 2
    admin_client.post(f"/rules/{rule.pk}/rollback/1/", {"confirm": "1"})
    assert Rule.objects.get(pk=rule.pk).current.text == "one\n"


def test_the_default_stylesheet_resets_to_the_shipped_one(admin_client, db, admin):
    rule = pipeline.default_rule()
    rule.revise("<changed/>", admin)
    admin_client.post(f"/rules/{rule.pk}/reset/", {"confirm": "1"})
    assert Rule.objects.get(pk=rule.pk).current.text == pipeline.shipped_default_text()


def test_the_api_resets_the_default_stylesheet_and_no_other_rule(admin_api, db, admin):
    rule = pipeline.default_rule()
    rule.revise("<changed/>", admin)
    answer = admin_api.post(f"/api/v1/rules/{rule.pk}/reset/", {}, format="json")
    assert answer.status_code == 201 and answer.json()["message"] == "Reset to shipped"
    assert Rule.objects.get(pk=rule.pk).current.text == pipeline.shipped_default_text()
    other = Rule.objects.create(name="other")
    other.revise("<x/>", admin)
    answer = admin_api.post(f"/api/v1/rules/{other.pk}/reset/", {}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"non_field_errors": [NOT_RESET]}


def test_without_the_default_rule_renders_fail_saying_how_to_restore_it(instance):
    Rule.objects.filter(is_default=True).delete()
    rendered = pipeline.render(instance)
    assert not rendered.outcome.ok
    assert "default stylesheet's rule is missing" in str(rendered.outcome.errors[0])
    with pytest.raises(pipeline.MissingDefaultRule, match="manage.py restoredefaultrule"):
        pipeline.default_rule()
    assert not Rule.objects.filter(is_default=True).exists()  # nothing creates it unasked


def test_the_command_restores_a_deleted_default_rule_and_keeps_an_edited_one(db):
    Rule.objects.filter(is_default=True).delete()
    call_command("restoredefaultrule", stdout=io.StringIO())  # as MISSING_DEFAULT says
    rule = pipeline.default_rule()
    assert rule.current.text == pipeline.shipped_default_text()
    rule.revise("<edited/>", None)
    call_command("restoredefaultrule", stdout=io.StringIO())
    assert pipeline.default_rule().current.text == "<edited/>"


def test_enabling_disabling_and_deleting_show_the_impact_first(admin_client, instance):
    rule = tag_rule("tagger", "T")
    page = admin_client.post(f"/rules/{rule.pk}/disable/").content.decode()
    assert (
        "Disable tagger" in page and instance.ec2_id in page and "alice+T&lt;/description" in page
    )
    assert Rule.objects.get(pk=rule.pk).enabled
    admin_client.post(f"/rules/{rule.pk}/disable/", {"confirm": "1"})
    admin_client.post(f"/rules/{rule.pk}/disable/", {"confirm": "1"})  # twice: still disabled
    assert not Rule.objects.get(pk=rule.pk).enabled
    page = admin_client.post(f"/rules/{rule.pk}/delete/").content.decode()
    assert "Delete tagger" in page and Rule.objects.filter(pk=rule.pk).exists()
    admin_client.post(f"/rules/{rule.pk}/delete/", {"confirm": "1"})
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_saving_a_rule_that_breaks_instances_needs_an_explicit_yes(admin_client, instance):
    form = {"name": "stop", "scope": "global", "position": 10, "enabled": "on"}
    form |= {"text": TERMINATES, "confirm": "1"}
    page = admin_client.post("/rules/new/", form).content.decode()
    assert "This change breaks 1 instance" in page and "no hugepages here" in page
    assert not Rule.objects.filter(name="stop").exists()
    admin_client.post("/rules/new/", {**form, "accept_failures": "1"})
    assert Rule.objects.filter(name="stop").exists()


def test_a_library_rule_enables_after_its_review(admin_client, instance):
    page = admin_client.post("/rules/library/hugepages/enable/").content.decode()
    assert "Enable Huge pages" in page and "hugepages" in page
    assert not Rule.objects.filter(library_slug="hugepages").exists()
    admin_client.post("/rules/library/hugepages/enable/", {"confirm": "1"})
    assert Rule.objects.get(library_slug="hugepages").enabled


def test_a_library_rule_whose_name_is_taken_says_so(admin_client, demo):
    Rule.objects.create(name="Huge pages")
    response = admin_client.post("/rules/library/hugepages/enable/", follow=True)
    assert "exists already" in response.content.decode()


def test_the_api_refuses_a_change_that_breaks_instances_unless_accepted(admin_api, instance):
    body = {"name": "stop", "enabled": True, "text": TERMINATES}
    response = admin_api.post("/api/v1/rules/", body, format="json")
    assert response.status_code == 400
    assert response.json()["broken"][0]["instance"] == instance.ec2_id
    accepted = admin_api.post("/api/v1/rules/", {**body, "accept_failures": True}, format="json")
    assert accepted.status_code == 201


def test_the_preview_endpoint_takes_the_edited_scope_position_and_comparison(admin_api, instance):
    tag_rule("at-20", "B", position=20)
    body = {"stylesheet": tag_text("A"), "instance": instance.ec2_id, "position": 10}
    domain = etree.fromstring(
        admin_api.post("/api/v1/rules/preview/", body, format="json").json()["domain_xml"].encode()
    )
    assert domain.findtext("description").endswith("+A+B")
    elsewhere = {**body, "scope": "node", "scope_target": "local"}
    response = admin_api.post("/api/v1/rules/preview/", elsewhere, format="json").json()
    assert response["diff"] == "" and "is for the node local" in response["warnings"][0]["message"]
    unknown = admin_api.post(
        "/api/v1/rules/preview/", {**body, "scope": "node", "scope_target": "nope"}, format="json"
    )
    assert unknown.status_code == 400 and "scope_target" in unknown.json()


BAD_MEMORY = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="currentMemory"><currentMemory>lots</currentMemory></xsl:template>
</xsl:stylesheet>"""


@pytest.mark.parametrize(
    ("stylesheet", "ok", "message"),
    [
        (tag_text("C"), True, "libvirt on sim accepts this domain"),
        (BAD_MEMORY, False, "currentMemory"),
    ],
)
def test_check_with_libvirt_queues_a_validation_on_the_node(
    admin_api,
    instance,
    queue,
    run_jobs,
    stylesheet,
    ok,
    message,
    django_capture_on_commit_callbacks,
):
    body = {"stylesheet": stylesheet, "instance": instance.ec2_id}
    with django_capture_on_commit_callbacks(execute=True):
        queued = admin_api.post("/api/v1/rules/check/", body, format="json")
    assert queued.status_code == 202 and queued.json()["node"] == "sim"
    job_id = queued.json()["job_id"]
    assert admin_api.get(f"/api/v1/rules/check/{job_id}/").json()["status"] == "queued"
    run_jobs()
    result = admin_api.get(f"/api/v1/rules/check/{job_id}/").json()
    assert (result["status"], result["ok"]) == ("finished", ok) and message in result["message"]


def test_check_with_libvirt_refuses_a_domain_that_does_not_render(admin_api, instance, queue):
    body = {"stylesheet": TERMINATES, "instance": instance.ec2_id}
    response = admin_api.post("/api/v1/rules/check/", body, format="json")
    assert response.status_code == 400 and "no hugepages here" in response.json()["stylesheet"][0]
    assert admin_api.get("/api/v1/rules/check/check-definition-nope/").status_code == 404


def test_an_instance_already_broken_is_not_blamed_on_an_unrelated_change(instance, admin):
    broken = Rule.objects.create(name="broken", enabled=True, scope="node", node=instance.node)
    broken.revise(TERMINATES, admin)
    unrelated = review.review(pipeline.Override(new_rule(), tag_text("U")), admin)
    assert unrelated.broken == [] and unrelated.changed == []


def test_the_saved_revision_of_a_disabled_rule_is_compared_as_if_enabled(instance):
    rule = tag_rule("off", "E")
    Rule.objects.filter(pk=rule.pk).update(enabled=False)
    rule.refresh_from_db()
    _, diff = pipeline.preview(instance, rule, tag_text("F"), against="saved")
    assert "alice+E</description>" in diff and "alice+F</description>" in diff


def test_deleting_a_rule_through_the_api_that_breaks_instances_needs_a_yes(admin_api, instance):
    guard = tag_rule("guard", "G", position=10)
    needs_guard = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:if test="not(contains(/domain/description, '+G'))">
    <xsl:message terminate="yes">the guard is gone</xsl:message></xsl:if>
    <xsl:copy-of select="."/></xsl:template>
</xsl:stylesheet>"""
    Rule.objects.create(name="needs-guard", enabled=True, position=20).revise(needs_guard, None)
    assert admin_api.delete(f"/api/v1/rules/{guard.pk}/").status_code == 400
    assert admin_api.delete(f"/api/v1/rules/{guard.pk}/?accept_failures=true").status_code == 204
