"""Resizing an instance to another instance type: on its node when it fits, otherwise moved
cold to one where it does; stopped first only when the user agreed; disks grown, never
shrunk; within the owner's quota."""

import pytest

from nodes.libvirt import Hypervisor, Storage
from nodes.models import Instance, InstanceType, Node, Quota
from nodes.runners import GIB
from tests.conftest import ask_action

QEMU = pytest.mark.django_db(transaction=True)


def resize(api, instance, **fields):
    return ask_action(api, instance, "resize", **fields)


def domain_xml(node, instance):
    with Hypervisor(node.endpoint(), 10) as hypervisor:
        return hypervisor.domain_xml(instance.uuid)


@pytest.mark.django_db(transaction=True)
def test_a_running_instance_is_resized_on_its_node_once_the_owner_agrees_to_a_restart(
    launched_on_sim, api, member_a, run_jobs
):
    api.force_authenticate(member_a)
    refused = resize(api, launched_on_sim, instance_type="m1.medium")
    assert refused.status_code == 409
    assert "a resize stops it first and starts it again" in refused.json()["detail"]

    response = resize(api, launched_on_sim, instance_type="m1.medium", stop=True)
    assert response.status_code == 202, response.json()
    run_jobs()
    action = launched_on_sim.actions.get(kind="resize")
    assert action.status == "succeeded", action.error
    assert [step["name"] for step in action.steps] == [
        "Choose a node for m1.medium",
        "Ask the guest to power off (up to 60 s)",  # the test driver's guest powers off at once
        "Render the domain XML",
        "Define the domain",
        "Start the domain",
    ]
    assert action.steps[0]["detail"] == "local: disabled, local-2: disabled, sim: accepted"
    instance = Instance.objects.get(pk=launched_on_sim.pk)
    assert (instance.instance_type.name, instance.vm_state, instance.power_state) == (
        "m1.medium",
        "active",
        "running",
    )
    assert "<memory unit='KiB'>524288</memory>" in domain_xml(instance.node, instance)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("type_now", "asked", "status", "words"),
    [
        ("m1.small", {"instance_type": "m1.small"}, 400, "It is m1.small already"),
        ("m1.medium", {"instance_type": "m1.small"}, 400, "disks are grown, never shrunk"),
        ("m1.small", {"instance_type": "m9.huge"}, 400, "does not exist"),
        ("m1.small", {}, 400, "Name the instance type to resize to"),
    ],
)
def test_a_resize_that_cannot_be_is_refused_with_the_reason(
    two_sims, api, member_a, type_now, asked, status, words
):
    instance, _ = two_sims
    for name, vcpus, memory, disk, ephemeral in (("m1.medium", 1, 512, 10, 1),):
        InstanceType.objects.create(
            name=name, vcpus=vcpus, memory_mb=memory, disk_gb=disk, ephemeral_gb=ephemeral
        )
    Instance.objects.filter(pk=instance.pk).update(
        instance_type=InstanceType.objects.get(name=type_now), vm_state="stopped"
    )
    api.force_authenticate(member_a)
    response = resize(api, instance, **asked)
    assert response.status_code == status, response.json()
    assert words in str(response.json())
    assert not instance.actions.exists()


@pytest.fixture
def larger(db):
    return InstanceType.objects.create(name="m1.large", vcpus=2, memory_mb=1024, disk_gb=20)


@pytest.mark.django_db
def test_a_resize_past_the_quota_is_refused(two_sims, api, member_a, larger):
    instance, _ = two_sims
    Quota.objects.create(user=member_a, ram_mb=768)
    api.force_authenticate(member_a)
    response = resize(api, instance, instance_type="m1.large", stop=True)
    assert response.status_code == 400
    assert "This resize would exceed your quota (RAM (MiB): 256 in use + 768 > 768)" in str(
        response.json()
    )


@pytest.mark.django_db
def test_a_size_that_fits_only_elsewhere_moves_it_there_and_one_that_fits_nowhere_is_refused(
    two_sims, api, member_a, larger
):
    instance, other = two_sims
    Node.objects.filter(name="sim").update(memory_mb=768)
    api.force_authenticate(member_a)
    response = resize(api, instance, instance_type="m1.large", stop=True)
    assert response.status_code == 202, response.json()
    params = response.json()["action"]["params"]
    assert params["node"] == "sim-2"
    assert params["placement"] == "sim: 1280 MiB would exceed its 768 MiB, sim-2: accepted"

    instance.actions.all().delete()
    Instance.objects.filter(pk=instance.pk).update(task_state=None)
    Node.objects.filter(pk=other.pk).update(memory_mb=512)
    response = resize(api, instance, instance_type="m1.large", stop=True)
    assert response.status_code == 409
    assert "As m1.large: No node of cluster demo can take" in response.json()["detail"]
    assert "sim-2: 1024 MiB would exceed its 512 MiB" in response.json()["detail"]


@QEMU
def test_a_guest_resized_beyond_its_node_moves_cold_with_its_disks_grown_and_starts_there(
    installer, local_2, api, run_jobs
):
    Node.objects.filter(name="local").update(memory_mb=768, ram_allocation_ratio=1)
    response = resize(api, installer, instance_type="m1.large", stop=True)
    assert response.status_code == 202, response.json()
    run_jobs()
    action = installer.actions.get(kind="resize")
    assert action.status == "succeeded", action.error
    names = [step["name"] for step in action.steps]
    assert names[0] == "Choose a node for m1.large"
    assert "Define it on local-2" in names and "Grow its disks to m1.large's" in names
    instance = Instance.objects.get(pk=installer.pk)
    assert (instance.node, instance.instance_type.name, instance.power_state) == (
        local_2,
        "m1.large",
        "running",
    )
    assert "<vcpu placement='static'>2</vcpu>" in domain_xml(local_2, instance)
    with Hypervisor(local_2.endpoint(), 10) as hypervisor:
        storage = Storage(hypervisor)
        pool = storage.existing_pool(instance.pool_name)
        for name, gib in ((Instance.ROOT_DISK, 20), (Instance.EPHEMERAL_DISK, 2)):
            assert storage.sizes(storage.volume(pool, name))[0] == gib * GIB


@pytest.mark.django_db
def test_the_owner_resizes_from_the_instance_page_agreeing_to_the_restart(
    two_sims, client, member_a, larger
):
    instance, _ = two_sims
    client.force_login(member_a)
    assert "Resize…" in client.get(f"/instances/{instance.ec2_id}/live/").content.decode()
    form = client.get(f"/instances/{instance.ec2_id}/resize/").content.decode()
    assert ">m1.large<" in form and ">m1.small<" not in form
    assert "Stop it first, and start it again" in form
    page = client.post(f"/instances/{instance.ec2_id}/resize/", {"instance_type": "m1.large"})
    assert "a resize stops it first" in page.content.decode()
    response = client.post(
        f"/instances/{instance.ec2_id}/resize/", {"instance_type": "m1.large", "stop": "on"}
    )
    assert response.status_code == 302
    assert instance.actions.get(kind="resize").params["restart"] is True
