"""Console tokens and sessions without a proxy: how tokens are made and stored, what the API
refuses, what revokes a session, and which forwarded headers are believed."""

import pytest
from django.conf import settings

from nodes import consoles, operations
from nodes.choices import ActionKind, PowerState, TaskState
from nodes.models import ConsoleSession, ConsoleToken, Instance, Node

pytestmark = pytest.mark.django_db


def ask(api, instance, kind="serial", **extra):
    return api.post(
        f"/api/v1/instances/{instance.ec2_id}/console/", {"type": kind}, format="json", **extra
    )


def test_tokens_are_long_random_and_stored_only_hashed(running, member_a):
    token, row = consoles.issue(running, member_a, "serial")
    other, _ = consoles.issue(running, member_a, "serial")
    assert len(token) >= 43 and token != other  # 32 random bytes, base64
    assert row.digest != token and token not in row.digest
    assert not ConsoleToken.objects.filter(digest=token).exists()
    assert (row.expires_at - row.created_at).total_seconds() <= 60


def test_the_api_explains_why_there_is_no_console(running, api, member_a):
    api.force_authenticate(member_a)
    assert ask(api, running, "vnc").status_code == 409  # the sim node has no VNC server
    running.task_state = TaskState.DELETING
    running.save()
    response = ask(api, running)
    assert response.status_code == 409 and "being terminated" in response.json()["detail"]
    running.task_state, running.power_state = None, PowerState.SHUTOFF
    running.save()
    response = ask(api, running)
    assert response.status_code == 409 and "not running" in response.json()["detail"]
    assert ask(api, running, "telnet").status_code == 400


def test_members_get_no_token_for_others_instances(running, api, member_b):
    api.force_authenticate(member_b)
    assert ask(api, running).status_code == 404


def test_sessions_are_revoked_when_the_instance_stops_or_access_is_lost(running, member_a):
    session = ConsoleSession.objects.create(instance=running, user=member_a, kind="serial")
    assert consoles.revoked([session.pk]) == {}
    member_a.is_active = False
    member_a.save()
    assert "no longer have access" in consoles.revoked([session.pk])[session.pk]
    member_a.is_active = True
    member_a.save()
    running.power_state = PowerState.SHUTOFF
    running.save()
    assert "not running" in consoles.revoked([session.pk])[session.pk]


def test_x_forwarded_proto_is_believed_only_from_trusted_proxies(running, api, member_a, settings):
    api.force_authenticate(member_a)
    settings.KUMO_CONSOLE_URL = ""
    forged = ask(api, running, HTTP_X_FORWARDED_PROTO="https").json()["ws_url"]
    assert forged.startswith("ws://testserver:6080/?token=")
    settings.KUMO_TRUSTED_PROXIES = ["127.0.0.1"]
    trusted = ask(api, running, HTTP_X_FORWARDED_PROTO="https").json()["ws_url"]
    assert trusted.startswith("wss://testserver:6080/")


def test_the_console_output_api_answers_with_the_last_copy_read(running, api, member_a):
    api.force_authenticate(member_a)
    running.node = None
    running.save()
    body = api.get(f"/api/v1/instances/{running.ec2_id}/console-output/").json()
    assert body == {"output": "", "truncated": False, "fetched_at": None, "refreshing": False}


def test_a_restarting_proxy_ends_only_its_own_sessions(running, member_a):
    mine = ConsoleSession.objects.create(
        instance=running, user=member_a, kind="serial", proxy="host-a:6080"
    )
    theirs = ConsoleSession.objects.create(
        instance=running, user=member_a, kind="serial", proxy="host-b:6080"
    )
    consoles.end_all_open("host-a:6080", "The console proxy restarted.")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.end_reason == "The console proxy restarted." and theirs.ended_at is None


def test_a_stop_revokes_the_tokens_not_used_yet(running, member_a, queue):
    token, _ = consoles.issue(running, member_a, "serial")
    operations.request_action(running, ActionKind.STOP, member_a)
    assert not ConsoleToken.objects.exists()
    with pytest.raises(consoles.Refused) as refused:
        consoles.open_session(token, settings.KUMO_CONSOLE_ORIGINS[0])
    assert refused.value.code == consoles.TOKEN_INVALID


def test_a_session_ends_when_its_instance_moves_to_another_node(running, member_a, world):
    token, _ = consoles.issue(running, member_a, "serial")
    _, session = consoles.open_session(token, settings.KUMO_CONSOLE_ORIGINS[0])
    assert session.node == running.node and consoles.revoked([session.pk]) == {}
    other = Node.objects.create(cluster=running.cluster, name="other", uri="test:///default")
    Instance.objects.filter(pk=running.pk).update(node=other)
    assert "moved to another node" in consoles.revoked([session.pk])[session.pk]


def test_the_console_pages_get_the_close_codes_from_the_one_table(member_client, world):
    from nodes.consoles import codes

    page = member_client.get(f"/instances/{world['instance_a'].ec2_id}/serial/").content.decode()
    assert 'id="console-close-codes"' in page
    assert f'"stop": [{", ".join(map(str, codes.STOP))}]' in page
