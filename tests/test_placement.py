"""Placement: the filters, the three policies, and the reasons recorded for each node."""

import pytest
from django.utils import timezone

from nodes.models import Cluster, Image, Instance, InstanceType, Node
from nodes.placement import PlacementFailed, place


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="east")


@pytest.fixture
def nodes(cluster):
    """Three nodes up: a (4 CPUs, 4 GiB), b (4 CPUs, 8 GiB), c (4 CPUs, 2 GiB)."""
    sizes = {"a": 4096, "b": 8192, "c": 2048}
    return {
        name: Node.objects.create(
            cluster=cluster,
            name=name,
            uri=f"qemu+ssh://{name}/system",
            domain_type="kvm",
            status="up",
            arch="x86_64",
            cpus=4,
            memory_mb=memory,
            cpu_allocation_ratio=1,
        )
        for name, memory in sizes.items()
    }


@pytest.fixture
def new_instance(cluster, admin):
    image = Image.objects.create(owner=admin, name="disk", location="/x", kind="machine")
    small = InstanceType.objects.create(name="m1.small", vcpus=1, memory_mb=1024, disk_gb=5)

    def make(instance_type=small, image=image):
        return Instance.objects.create(
            owner=admin, cluster=cluster, image=image, instance_type=instance_type
        )

    return make


def policy(cluster, name):
    Cluster.objects.filter(pk=cluster.pk).update(placement_policy=name)


def test_greedy_fills_the_first_node_that_fits(nodes, new_instance):
    assert [place(new_instance())[0].name for _ in range(3)] == ["a", "a", "a"]


def test_round_robin_takes_the_next_node_each_time(cluster, nodes, new_instance):
    policy(cluster, "ROUNDROBIN")
    assert [place(new_instance())[0].name for _ in range(4)] == ["a", "b", "c", "a"]


def test_spread_takes_the_node_with_the_most_free_memory(cluster, nodes, new_instance):
    policy(cluster, "SPREAD")
    # b has 8 GiB, a 4 GiB, c 2 GiB; each instance takes 1 GiB; a tie goes to the first name
    assert [place(new_instance())[0].name for _ in range(5)] == ["b", "b", "b", "b", "a"]


def test_each_node_gets_a_verdict(nodes, new_instance):
    Node.objects.filter(name="c").update(status="down")
    Node.objects.filter(name="b").update(enabled=False)
    node, verdicts = place(new_instance())
    assert node.name == "a"
    assert verdicts == {"a": "accepted", "b": "disabled", "c": "status down"}


def test_capacity_counts_instances_being_built(nodes, new_instance):
    big = InstanceType.objects.create(name="big", vcpus=4, memory_mb=2048, disk_gb=1)
    for _ in range(3):
        place(new_instance(big))
    with pytest.raises(PlacementFailed) as refused:
        place(new_instance(big))
    assert "8 vCPUs would exceed its 4" in str(refused.value)


def test_image_properties_must_match_the_node(nodes, new_instance, admin):
    xen = Image.objects.create(owner=admin, name="pv", location="/x", kind="machine", vm_mode="xen")
    with pytest.raises(PlacementFailed, match="Xen paravirtual"):
        place(new_instance(image=xen))
    arm = Image.objects.create(
        owner=admin, name="arm", location="/x", kind="machine", arch="aarch64"
    )
    with pytest.raises(PlacementFailed, match="image is aarch64, node is x86_64"):
        place(new_instance(image=arm))


def test_a_node_whose_libvirt_lacks_its_domain_type_is_refused(nodes, new_instance):
    Node.objects.filter(name="a").update(supported_domain_types=["qemu"])
    node, verdicts = place(new_instance())
    assert node.name == "b"
    assert verdicts["a"] == "its libvirt offers qemu, not its domain type kvm"


def test_disks_fit_in_the_nodes_disk_times_its_ratio(nodes, new_instance):
    Node.objects.update(disk_gb=8)  # each instance takes 5 GiB
    Node.objects.filter(name="a").update(disk_allocation_ratio=2)
    assert [place(new_instance())[0].name for _ in range(4)] == ["a", "a", "a", "b"]
    _, verdicts = place(new_instance())
    assert verdicts["a"] == "20 GiB of disks would exceed its 16 GiB"


def test_failed_launches_hold_no_capacity_but_broken_running_instances_do(nodes, new_instance):
    """A launch that failed left no domain: it must not make the node refuse everyone (341
    failed launches once made a node refuse all)."""
    big = InstanceType.objects.create(name="big", vcpus=4, memory_mb=2048, disk_gb=1)
    Node.objects.exclude(name="a").update(enabled=False)
    for _ in range(3):
        failed = new_instance(big)
        place(failed)
        Instance.objects.filter(pk=failed.pk).update(vm_state="error")
    assert place(new_instance(big))[0].name == "a"

    Instance.objects.filter(vm_state="error").update(launched_at=timezone.now())
    with pytest.raises(PlacementFailed, match="vCPUs would exceed its 4"):
        place(new_instance(big))
