"""Domains Kumo did not create: listed by reconciliation, adopted (pre-adopt hooks may
refuse) or ignored. libvirt's test driver starts with one such domain, "test"."""

import pytest

from nodes.models import Image, Instance, InstanceType, UnmanagedDomain
from nodes.watcher import reconcile


@pytest.fixture(autouse=True)
def reconciled(demo_sim):
    reconcile(demo_sim)


def test_reconciliation_lists_the_domains_kumo_does_not_know(demo_sim, admin_client):
    domain = UnmanagedDomain.objects.get(node=demo_sim, name="test")
    assert domain.power_state == "running"
    page = admin_client.get("/nodes/sim/").content.decode()
    assert "Unmanaged domains" in page and str(domain.uuid) in page


def adopt_form():
    return {
        "owner": Instance._meta.get_field("owner").related_model.objects.get(username="member").pk,
        "image": Image.objects.get(kind="machine").pk,
        "instance_type": InstanceType.objects.get(name="m1.small").pk,
    }


def test_adopting_makes_it_an_instance(
    demo_sim, admin_client, queue, run_jobs, django_capture_on_commit_callbacks
):
    domain = UnmanagedDomain.objects.get(node=demo_sim, name="test")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/nodes/sim/unmanaged/{domain.pk}/adopt/", adopt_form())
    assert response.status_code == 302
    run_jobs()
    instance = Instance.objects.get(uuid=domain.uuid)
    assert (instance.vm_state, instance.power_state, instance.owner.username) == (
        "active",
        "running",
        "member",
    )
    assert "<name>test</name>" in instance.domain_xml
    reconcile(demo_sim)
    assert not UnmanagedDomain.objects.filter(uuid=domain.uuid).exists()


def test_a_pre_adopt_hook_can_refuse_and_the_domain_stays_unmanaged(
    demo_sim, admin_client, queue, run_jobs, django_capture_on_commit_callbacks, tmp_path, settings
):
    hook = tmp_path / "10-no"
    hook.write_text('#!/bin/sh\necho "not ours to take" >&2\nexit 1\n')
    hook.chmod(0o755)
    settings.KUMO_HOOKS_DIR = str(tmp_path)
    domain = UnmanagedDomain.objects.get(node=demo_sim, name="test")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/nodes/sim/unmanaged/{domain.pk}/adopt/", adopt_form())
    run_jobs()
    instance = Instance.objects.get(uuid=domain.uuid)
    assert instance.vm_state == "deleted"
    assert "not ours to take" in instance.actions.get().error
    reconcile(demo_sim)
    assert UnmanagedDomain.objects.filter(uuid=domain.uuid).exists()


def test_ignoring_hides_it(demo_sim, admin_client):
    domain = UnmanagedDomain.objects.get(node=demo_sim, name="test")
    admin_client.post(f"/nodes/sim/unmanaged/{domain.pk}/ignore/")
    page = admin_client.get("/nodes/sim/").content.decode()
    assert str(domain.uuid) not in page and "1 ignored" in page
