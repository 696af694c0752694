"""Checking a node's connection: discovery on the real daemon, and every way it can fail."""

import time

import pytest
from django.core.management import call_command

from nodes.choices import AuthMethod, DomainType, NodeStatus
from nodes.libvirt import Endpoint
from nodes.libvirt.connection import explain
from nodes.models import Node
from nodes.probing import probe_and_record
from tests.libvirtd import FIRST


def refresh(node):
    node.refresh_from_db()
    return node


def test_it_discovers_a_qemu_node(local_node):
    assert probe_and_record(local_node)
    node = refresh(local_node)
    assert node.status == NodeStatus.UP
    assert node.cpus >= 1 and node.memory_mb > 0
    assert node.hypervisor == "QEMU" and node.arch == "x86_64"
    assert "qemu" in node.supported_domain_types
    assert node.libvirt_version.count(".") == 2
    assert node.last_seen and node.last_error == ""


def test_it_discovers_the_test_driver_served_by_the_daemon(sim_node):
    assert probe_and_record(sim_node)
    node = refresh(sim_node)
    assert (node.status, node.hypervisor, node.supported_domain_types) == ("up", "TEST", ["test"])


def node_at(cluster, uri, name="broken", **fields):
    return Node.objects.create(
        cluster=cluster, name=name, uri=uri, domain_type=DomainType.QEMU, **fields
    )


def test_a_stopped_daemon_marks_the_node_down_with_what_to_do(cluster):
    node = node_at(cluster, "qemu+unix:///system?socket=/run/kumo-test/no-daemon-here.sock")
    assert not probe_and_record(node)
    node = refresh(node)
    assert node.status == NodeStatus.DOWN
    assert "No libvirt daemon is listening" in node.last_error
    assert "no-daemon-here.sock" in node.last_error


def test_a_refused_connection_is_explained(cluster):
    node = node_at(cluster, "qemu+tcp://127.0.0.1:1/system")
    assert not probe_and_record(node)
    assert "refused the connection" in refresh(node).last_error


def test_an_unknown_driver_is_explained(cluster):
    node = node_at(cluster, f"vz+unix:///system?socket={FIRST.socket}")
    assert not probe_and_record(node)
    assert "no driver for the URI" in refresh(node).last_error


def test_a_node_that_never_answers_is_down_within_the_timeout(cluster, silent_host, settings):
    settings.KUMO_PROBE_TIMEOUT = 2
    node = node_at(cluster, f"qemu+tcp://127.0.0.1:{silent_host}/system")
    started = time.monotonic()
    assert not probe_and_record(node)
    assert time.monotonic() - started < 4
    assert "did not answer within 2 s" in refresh(node).last_error


def test_a_node_that_stalls_after_connecting_is_down_within_the_timeout(
    cluster, stalling_daemon, settings
):
    settings.KUMO_PROBE_TIMEOUT = 2
    node = node_at(cluster, stalling_daemon)
    started = time.monotonic()
    assert not probe_and_record(node)
    assert time.monotonic() - started < 3
    assert "did not answer within 2 s" in refresh(node).last_error


def test_a_password_that_cannot_be_decrypted_is_reported(cluster):
    node = node_at(cluster, FIRST.qemu_uri, auth_method=AuthMethod.SASL, username="u")
    Node.objects.filter(pk=node.pk).update(sealed_password="garbage")
    assert not probe_and_record(refresh(node))
    assert "enter the password again" in refresh(node).last_error


def test_an_authentication_failure_says_to_check_the_credentials():
    # A SASL-protected daemon cannot be stood up here; libvirt's words for it are fed in.
    import libvirt

    error = libvirt.libvirtError("authentication failed: Failed to step SASL negotiation")
    message = explain(error, Endpoint("qemu+tcp://host/system", "sasl", "u", "p"))
    assert message.startswith("Authentication failed: check the node's auth method")
    assert "Failed to step SASL negotiation" in message


def test_ssh_uris_never_wait_for_a_prompt():
    from nodes.libvirt.connection import effective_uri

    assert (
        effective_uri(Endpoint("qemu+ssh://root@h/system")) == "qemu+ssh://root@h/system?no_tty=1"
    )
    assert effective_uri(Endpoint("qemu:///system")) == "qemu:///system"


def test_the_check_button_queues_a_probe_that_a_worker_runs(
    admin_client, sim_node, queue, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/nodes/{sim_node.name}/check/", follow=True)
    assert "Checking the connection to sim" in response.content.decode()
    assert refresh(sim_node).status == NodeStatus.UNKNOWN
    run_jobs()
    assert refresh(sim_node).status == NodeStatus.UP


def test_the_api_check_answers_202_and_the_worker_records_the_outcome(
    api, admin, sim_node, queue, run_jobs, django_capture_on_commit_callbacks
):
    api.force_authenticate(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/nodes/{sim_node.name}/check/")
    assert response.status_code == 202 and response.json()["job_id"].startswith("probe-")
    run_jobs()
    body = api.get(f"/api/v1/nodes/{sim_node.name}/").json()
    assert body["status"] == "up" and body["cpus"] >= 1 and body["memory_mb"] > 0


def test_members_cannot_check_a_node(api, member_a, sim_node, client):
    api.force_authenticate(member_a)
    assert api.post(f"/api/v1/nodes/{sim_node.name}/check/").status_code == 404
    client.force_login(member_a)
    assert client.post(f"/nodes/{sim_node.name}/check/").status_code == 404


@pytest.fixture
def redis_down(settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}


def test_with_redis_down_a_check_says_so_and_queues_nothing(
    admin_client, api, admin, sim_node, redis_down
):
    response = admin_client.post(f"/nodes/{sim_node.name}/check/", follow=True)
    assert "job queue (Redis) is not reachable" in response.content.decode()
    api.force_authenticate(admin)
    response = api.post(f"/api/v1/nodes/{sim_node.name}/check/")
    assert response.status_code == 503
    assert "not reachable" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)  # the watcher probes from threads of its own
def test_the_watcher_marks_nodes_up_and_down(cluster, sim_node):
    broken = node_at(cluster, "qemu+tcp://127.0.0.1:1/system")
    disabled = node_at(cluster, FIRST.qemu_uri, name="disabled", enabled=False)
    call_command("runwatcher", once=True)
    assert refresh(sim_node).status == NodeStatus.UP
    assert refresh(broken).status == NodeStatus.DOWN
    assert refresh(disabled).status == NodeStatus.UNKNOWN
