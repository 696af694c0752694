"""Storage pools: what the probe lists on the test driver's daemon, the node page and the
API that show them, and placement refusing a node whose images pool has no room."""

from contextlib import contextmanager

import pytest

from nodes.libvirt import Hypervisor
from nodes.libvirt.storage import pool_xml
from nodes.models import Image, Instance, InstanceType, Node
from nodes.placement import PlacementFailed, place
from nodes.probing import probe_and_record
from nodes.storage.models import IMAGES_POOL, StoragePool

pytestmark = pytest.mark.django_db
GIB = 1 << 30


@contextmanager
def transient_pool(node, name):
    """A running dir pool `name` on node's daemon for the length of the block."""
    with Hypervisor(node.endpoint(), 10) as hypervisor:
        pool = hypervisor.connection.storagePoolCreateXML(pool_xml(name, f"/{name}"), 0)
        try:
            yield
        finally:
            pool.destroy()


def pool_names(node):
    return set(node.storage_pools.values_list("name", flat=True))


def test_the_probe_records_each_pool_with_its_room(sim_node):
    assert probe_and_record(sim_node)
    pool = sim_node.storage_pools.get(name="default-pool")
    assert (pool.type, pool.active, pool.path) == ("dir", True, "/default-pool")
    assert pool.capacity_bytes == 100 * GIB
    assert pool.available_bytes + pool.allocation_bytes == pool.capacity_bytes


def test_a_pool_gone_from_the_node_is_gone_after_the_next_probe(sim_node):
    with transient_pool(sim_node, "scratch"):
        probe_and_record(sim_node)
        assert "scratch" in pool_names(sim_node)
    probe_and_record(sim_node)
    assert pool_names(sim_node) == {"default-pool"}


def test_the_pools_of_instances_directories_are_left_out(sim_node):
    with transient_pool(sim_node, f"{Instance.POOL_PREFIX}i-1A2B3C4D"):
        probe_and_record(sim_node)
    assert pool_names(sim_node) == {"default-pool"}


def test_a_node_that_goes_down_keeps_the_pools_it_last_listed(sim_node):
    probe_and_record(sim_node)
    Node.objects.filter(pk=sim_node.pk).update(uri="qemu+tcp://127.0.0.1:1/system")  # refused
    sim_node.refresh_from_db()
    assert not probe_and_record(sim_node)
    assert pool_names(sim_node) == {"default-pool"}


def test_the_node_page_shows_its_pools(admin_client, sim_node):
    probe_and_record(sim_node)
    page = admin_client.get(f"/nodes/{sim_node.name}/").content.decode()
    assert "default-pool" in page and "100 GiB" in page


def test_a_node_never_probed_says_when_its_pools_appear(admin_client, sim_node):
    page = admin_client.get(f"/nodes/{sim_node.name}/").content.decode()
    assert "No pools listed yet" in page


def test_the_api_gives_a_nodes_pools_in_bytes(api, admin, sim_node):
    probe_and_record(sim_node)
    api.force_authenticate(admin)
    response = api.get(f"/api/v1/nodes/{sim_node.name}/pools/")
    assert response.status_code == 200
    [pool] = response.json()
    assert pool["name"] == "default-pool" and pool["capacity_bytes"] == 100 * GIB


def test_a_member_cannot_see_a_nodes_pools(api, member_a, sim_node):
    api.force_authenticate(member_a)
    assert api.get(f"/api/v1/nodes/{sim_node.name}/pools/").status_code == 404


@pytest.fixture
def two_nodes(cluster):
    return [
        Node.objects.create(
            cluster=cluster,
            name=name,
            uri=f"qemu+ssh://{name}/system",
            status="up",
            arch="x86_64",
            cpus=4,
            memory_mb=8192,
        )
        for name in ("a", "b")
    ]


@pytest.fixture
def big_image_instance(cluster, admin):
    image = Image.objects.create(
        owner=admin, name="big", location="/x", kind="machine", size_bytes=2 * GIB
    )
    size = InstanceType.objects.create(name="m1.small", vcpus=1, memory_mb=512, disk_gb=5)
    return Instance.objects.create(owner=admin, cluster=cluster, image=image, instance_type=size)


def images_pool(node, available_bytes, active=True, volumes=()):
    return StoragePool.objects.create(
        node=node,
        name=IMAGES_POOL,
        type="dir",
        active=active,
        capacity_bytes=10 * GIB,
        allocation_bytes=10 * GIB - available_bytes,
        available_bytes=available_bytes,
        volumes=list(volumes),
        seen_at="2026-01-01T00:00Z",
    )


def test_placement_passes_over_a_node_whose_images_pool_lacks_room(two_nodes, big_image_instance):
    images_pool(two_nodes[0], available_bytes=GIB)
    node, verdicts = place(big_image_instance)
    assert node.name == "b"
    assert verdicts["a"] == f"its pool {IMAGES_POOL} has 1.0 GiB free, 2.0 GiB are needed"


def test_placement_refuses_when_no_images_pool_has_room(two_nodes, big_image_instance):
    for node in two_nodes:
        images_pool(node, available_bytes=0)
    with pytest.raises(PlacementFailed, match=f"a: its pool {IMAGES_POOL} has 0.0 GiB free"):
        place(big_image_instance)


def test_an_image_already_on_the_node_needs_no_room(two_nodes, big_image_instance):
    images_pool(two_nodes[0], available_bytes=0, volumes=[big_image_instance.image.ec2_id])
    assert place(big_image_instance)[0].name == "a"


def test_a_stopped_images_pool_is_no_refusal(two_nodes, big_image_instance):
    images_pool(two_nodes[0], available_bytes=0, active=False)  # the upload starts it
    assert place(big_image_instance)[0].name == "a"


def test_the_probe_lists_a_pools_volumes(sim_node):
    probe_and_record(sim_node)
    with Hypervisor(sim_node.endpoint(), 10) as hypervisor:
        names = hypervisor.connection.storagePoolLookupByName("default-pool").listVolumes()
    assert sim_node.storage_pools.get(name="default-pool").volumes == sorted(names)
