"""The API under bad bodies and its schema against what it answers: a 400 in JSON for any
body that is not the object it expects, too deep or too big; a schema that says what comes."""

import json

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator

from nodes.api.bodies import MAX_DEPTH, nesting_over
from nodes.api.instances import ActionSerializer
from nodes.api.rules import RevisionSerializer, RuleSerializer
from nodes.api.serializers import ImageSerializer, InstanceSerializer, NodeSerializer
from nodes.domainxml import pipeline
from nodes.models import Rule

NOT_OBJECTS = ['["stop"]', '"stop"', "[1]", "1", "null", "true"]


def post_raw(api, url, body):
    return api.post(url, body, content_type="application/json")


def assert_json_400(response):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.fixture
def rule(admin, db):
    rule = Rule.objects.create(name="noop")
    rule.revise('<xsl:stylesheet version="1.0"/>', admin, "Created")
    return rule


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_an_action_request_that_is_not_an_object_is_a_400(api, admin, world, body):
    api.force_authenticate(admin)
    url = f"/api/v1/instances/{world['instance_a'].ec2_id}/actions/"
    assert "non_field_errors" in assert_json_400(post_raw(api, url, body))


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_a_rollback_that_is_not_an_object_is_a_400(api, admin, rule, body):
    api.force_authenticate(admin)
    assert_json_400(post_raw(api, f"/api/v1/rules/{rule.pk}/rollback/", body))


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/instances/",
        "/api/v1/keypairs/",
        "/api/v1/rules/",
        "/api/v1/rules/preview/",
        "/api/v1/rules/check/",
    ],
)
def test_other_bodies_that_are_not_objects_are_a_400(api, admin, world, url):
    api.force_authenticate(admin)
    assert "non_field_errors" in assert_json_400(post_raw(api, url, '["stop"]'))


def test_a_wrong_field_in_an_action_request_is_a_field_error(api, admin, world):
    api.force_authenticate(admin)
    url = f"/api/v1/instances/{world['instance_a'].ec2_id}/actions/"
    body = assert_json_400(post_raw(api, url, json.dumps({"action": ["stop"]})))
    assert "Choose one of" in body["action"][0]


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/instances/", "image"),
        ("/api/v1/instances/", "keypair"),
        ("/api/v1/volumes/", "node"),
        ("/api/v1/rules/", "node"),
    ],
)
def test_a_name_holding_a_nul_byte_is_a_field_error(api, admin, world, url, field):
    api.force_authenticate(admin)
    body = {"name": "x", "image": world["image_a"].ec2_id, "size_gib": 1, field: "a\x00b"}
    assert field in assert_json_400(api.post(url, body, format="json"))


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_page_field_holding_a_nul_byte_is_a_400(admin_client, world, method):
    response = getattr(admin_client, method)("/instances/new/", {"image": "emi-\x00"})
    assert response.status_code == 400 and b"NUL byte" in response.content


def test_a_rollback_without_a_number_says_what_to_give(api, admin, rule):
    api.force_authenticate(admin)
    body = assert_json_400(post_raw(api, f"/api/v1/rules/{rule.pk}/rollback/", "{}"))
    assert body["revision"] == ["Give the revision number to roll back to."]


def test_a_rollback_to_a_number_past_any_revision_is_a_field_error(api, admin, rule):
    api.force_authenticate(admin)
    body = json.dumps({"revision": 10**30})
    answer = assert_json_400(post_raw(api, f"/api/v1/rules/{rule.pk}/rollback/", body))
    assert "revision" in answer


def test_a_wrong_accept_failures_flag_on_a_delete_is_a_field_error(api, admin, rule):
    api.force_authenticate(admin)
    response = api.delete(f"/api/v1/rules/{rule.pk}/?accept_failures=maybe")
    assert "accept_failures" in assert_json_400(response)
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_refusing_to_delete_the_default_stylesheet_is_an_object(api, admin, rule):
    api.force_authenticate(admin)
    default = pipeline.default_rule()
    response = api.delete(f"/api/v1/rules/{default.pk}/")
    assert "cannot be deleted" in assert_json_400(response)["non_field_errors"][0]


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 5_000 + "1" + "}" * 5_000],
    ids=["arrays", "objects"],
)
@pytest.mark.parametrize("url", ["/api/v1/instances/", "/api/v1/rules/{rule}/rollback/"])
def test_deeply_nested_json_is_a_400(api, admin, world, rule, body, url):
    api.force_authenticate(admin)
    answer = assert_json_400(post_raw(api, url.format(rule=rule.pk), body))
    assert f"deeper than {MAX_DEPTH}" in answer["detail"]


def test_json_nested_up_to_the_bound_reaches_the_view(api, admin, world):
    api.force_authenticate(admin)
    body = json.dumps({"name": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))})
    answer = assert_json_400(post_raw(api, "/api/v1/keypairs/", body))
    assert "name" in answer


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert not nesting_over(json.dumps({"text": "[" * 1000 + '\\"{' * 1000}), MAX_DEPTH)
    assert nesting_over("[" * (MAX_DEPTH + 1), MAX_DEPTH)


def test_a_body_over_the_limit_is_a_json_400(api, admin, world):
    api.force_authenticate(admin)
    body = json.dumps({"name": "x" * 10_000_000})
    answer = assert_json_400(post_raw(api, "/api/v1/keypairs/", body))
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in answer["detail"]
    assert "limit" in answer["detail"]


def test_a_form_body_over_the_limit_is_a_json_400(api, admin, world):
    api.force_authenticate(admin)
    response = api.post("/api/v1/keypairs/", {"name": "x" * 10_000_000})
    assert "limit" in assert_json_400(response)["detail"]


def test_a_page_keeps_djangos_answer_to_a_body_over_the_limit(admin_client, world):
    response = admin_client.post("/keypairs/new/", {"name": "x" * 10_000_000})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_api_url_is_a_json_404(api, admin):
    api.force_authenticate(admin)
    response = api.get("/api/v1/rules/1.5/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_an_unknown_page_keeps_djangos_404_page(admin_client):
    response = admin_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.fixture
def openapi(db):
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(openapi):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def success_schema(openapi, method, path):
    responses = openapi["paths"][path][method]["responses"]
    code = next(code for code in responses if code.startswith("2"))
    return responses[code]["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    "path", ["/api/v1/instances/{id}/snapshots/", "/api/v1/rules/{id}/revisions/"]
)
def test_the_schema_says_snapshots_and_revisions_are_plain_arrays(openapi, path):
    assert success_schema(openapi, "get", path)["type"] == "array"
    parameters = openapi["paths"][path]["get"].get("parameters", [])
    assert "page" not in [parameter["name"] for parameter in parameters]


def test_the_schema_does_not_require_what_only_admins_get(openapi):
    image = openapi["components"]["schemas"]["Image"]
    assert "location" in image["properties"]
    assert "location" not in image["required"]


def test_the_schema_allows_the_blank_library_slug_of_own_rules(openapi):
    slug = openapi["components"]["schemas"]["Rule"]["properties"]["library_slug"]
    assert "pattern" not in slug


@pytest.mark.parametrize(
    "component, serializer",
    [
        ("Instance", InstanceSerializer),
        ("Node", NodeSerializer),
        ("Image", ImageSerializer),
        ("Action", ActionSerializer),
        ("Rule", RuleSerializer),
        ("Revision", RevisionSerializer),
    ],
)
def test_the_schema_says_nullable_what_may_be_null(openapi, component, serializer):
    properties = openapi["components"]["schemas"][component]["properties"]
    model = serializer.Meta.model
    nullable = {f.name for f in model._meta.get_fields() if f.concrete and f.null}
    for name, field in serializer().fields.items():
        if field.source in nullable and name in properties:
            assert properties[name].get("nullable") or "oneOf" in properties[name], name


def test_the_schema_says_a_rule_may_have_no_revision(openapi):
    assert openapi["components"]["schemas"]["Rule"]["properties"]["revision"]["nullable"]


def test_the_schema_documents_errors_for_every_operation(openapi):
    for label, operation in operations(openapi):
        responses = operation["responses"]
        assert "401" in responses, label
        for code, response in responses.items():
            if code >= "400":
                assert "application/json" in response["content"], (label, code)


@pytest.mark.parametrize(
    "method, path, codes",
    [
        ("post", "/api/v1/instances/{id}/actions/", {"400", "401", "403", "404", "409", "503"}),
        ("post", "/api/v1/instances/", {"400", "401", "403", "503"}),
        ("get", "/api/v1/instances/", {"400", "401"}),  # 400: a malformed ?ip=, a bad cursor
        ("get", "/api/v1/quota/", {"401"}),
        ("get", "/api/v1/rules/", {"400", "401", "403"}),
        ("delete", "/api/v1/rules/{id}/", {"400", "401", "403", "404"}),
        ("post", "/api/v1/rules/check/", {"400", "401", "403", "503"}),
    ],
)
def test_the_schema_documents_the_errors_an_operation_answers(openapi, method, path, codes):
    responses = openapi["paths"][path][method]["responses"]
    throttled = {"429"}  # every operation, since the API is rate limited (docs/security.md)
    assert {code for code in responses if code >= "400"} == codes | throttled
