"""Fuzzing the API with schemathesis over its own OpenAPI schema: every operation, as an
admin and as a member (token auth), must answer no 5xx and only what the schema documents
(status code, content type, body).

The run is bounded and repeatable: hypothesis is derandomized (a fixed seed per test) and
tries FUZZ_EXAMPLES cases per operation (KUMO_FUZZ_EXAMPLES for a longer run). The WSGI app is called in this process, inside the
test's transaction; jobs the API queues (launches, actions, probes, checks) stay in the test
Redis database, flushed afterwards: no worker runs, so nothing reaches a libvirt daemon.
Nothing is excluded: deleting the fixture's objects, terminating its instances and launching
new ones are fair game, and logging out is not part of the API.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from nodes.choices import ActionKind
from nodes.models import Action, InstanceAddress, Rule, Snapshot

FUZZ_EXAMPLES = int(os.environ.get("KUMO_FUZZ_EXAMPLES", "25"))  # per operation and caller
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def app():
    """Kumo's WSGI app, called in this thread. Django must not close the database connection
    when a request ends (the test's transaction would go with it): its test client does the
    same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def known(world, admin):
    """Path parameters of objects that exist, by resource (the path's third part)."""
    rule = Rule.objects.create(name="noop")
    rule.revise('<xsl:stylesheet version="1.0"/>', admin, "Created")
    rule.revise('<xsl:stylesheet version="1.0"/> ', None, "")
    instance = world["instance_a"]
    Snapshot.objects.create(instance=instance, name="before")
    InstanceAddress.objects.create(
        instance=instance,
        mac="d0:0d:00:00:00:01",
        network="default",
        ip="192.168.122.10",
        prefix=24,
        family="ipv4",
        source="lease",
        seen_at=timezone.now(),
    )
    action = Action.objects.create(instance=instance, kind=ActionKind.STOP)
    return {
        "clusters": {"name": "demo"},
        "nodes": {"name": "sim"},
        "images": {"id": world["public_image"].ec2_id},
        "instance-types": {"name": "m1.small"},
        "keypairs": {"name": "main"},
        "instances": {"id": instance.ec2_id},
        "actions": {"id": action.pk},
        "quotas": {"username": "bob"},
        "rules": {"id": rule.pk},
    }


@pytest.fixture
def api_schema(app, known, queue):
    return schemathesis.openapi.from_wsgi("/api/schema/", app)


def cases(operation, known):
    """Cases that fit the schema, cases that do not, and fitting ones on existing objects
    (random ids would reach little but 404s)."""
    names = [p.name for p in operation.path_parameters]
    ids = known.get(operation.path.split("/")[3], {})
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if names and all(name in ids for name in names):
        fixed = {name: ids[name] for name in names}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed))
    return st.one_of(strategies)


def fuzz(schema, known, user, subtests):
    """Every operation of schema, called as user, each checked on its own."""
    token = Token.objects.create(user=user)
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=cases(operation, known))
        def call(case):
            case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)

        with subtests.test(operation.label):
            call()


def test_the_api_holds_its_schema_for_an_admin(api_schema, known, admin, subtests):
    fuzz(api_schema, known, admin, subtests)


def test_the_api_holds_its_schema_for_a_member(api_schema, known, member_a, subtests):
    fuzz(api_schema, known, member_a, subtests)
