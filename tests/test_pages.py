"""Console pages: every list and detail renders, search, filters, pagination, admin forms."""

import pytest

from nodes.models import Cluster, Image, InstanceType, Node
from tests.libvirtd import FIRST


def text(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


LISTS = ["/", "/clusters/", "/nodes/", "/images/", "/instance-types/", "/keypairs/", "/instances/"]


@pytest.mark.parametrize("url", LISTS)
def test_every_list_page_renders_for_an_admin(admin_client, world, url):
    assert "Kumo" in text(admin_client.get(url))


def test_every_detail_page_renders(admin_client, world):
    for obj in [world["public_image"], world["instance_a"], world["keypair_a"]]:
        assert str(obj) in text(admin_client.get(obj.get_absolute_url()))
    for url in ["/clusters/demo/", "/nodes/sim/", "/instance-types/m1.small/"]:
        assert "Edit" in text(admin_client.get(url))


def test_empty_lists_say_what_to_do(admin_client, db):
    assert "Create the first one" in text(admin_client.get("/nodes/"))
    assert "No instances yet" in text(admin_client.get("/instances/"))


def test_search_and_filters_narrow_the_list(admin_client, world, cluster):
    Node.objects.create(
        cluster=cluster, name="edge-1", uri="qemu+ssh://edge-1/system", status="down"
    )
    assert "edge-1" not in text(admin_client.get("/nodes/?q=sim"))
    page = text(admin_client.get("/nodes/?status=down"))
    assert "edge-1" in page and ">sim<" not in page
    assert "Nothing matches" in text(admin_client.get("/nodes/?q=nothing-like-this"))


def test_an_unknown_filter_value_is_ignored(admin_client, world):
    assert "sim" in text(admin_client.get("/nodes/?status=%27;drop"))


def test_long_lists_are_paginated(admin_client, db):
    InstanceType.objects.bulk_create(
        InstanceType(name=f"t{n:02}", vcpus=1, memory_mb=64, disk_gb=1) for n in range(30)
    )
    first = text(admin_client.get("/instance-types/"))
    assert "Page 1 of 2 (30)" in first and "t29" not in first
    assert "t29" in text(admin_client.get("/instance-types/?page=2"))
    assert admin_client.get("/instance-types/?page=9").status_code == 404


def test_the_dashboard_shows_node_health_capacity_and_states(admin_client, world, sim_node):
    Node.objects.filter(pk=sim_node.pk).update(status="up", cpus=16, memory_mb=4096)
    page = text(admin_client.get("/"))
    assert "Node health" in page and "16 physical CPUs on 1 node up" in page
    assert "Building</a>: 2" in page


def test_an_admin_creates_a_cluster_and_a_node(admin_client, db):
    response = admin_client.post(
        "/clusters/new/", {"name": "east", "placement_policy": "SPREAD", "cpu_mode": "auto"}
    )
    assert response.status_code == 302
    response = admin_client.post(
        "/nodes/new/",
        {
            "cluster": Cluster.objects.get(name="east").pk,
            "name": "kvm-1",
            "uri": "qemu+ssh://root@kvm-1/system",
            "auth_method": "ssh",
            "domain_type": "kvm",
            "cpu_allocation_ratio": "4",
            "ram_allocation_ratio": "1.5",
            "disk_allocation_ratio": "1",
            "enabled": "on",
            **NODE_PLACES,
        },
    )
    assert response.status_code == 302
    node = Node.objects.get(name="kvm-1")
    assert (node.cluster.name, node.status, str(node.ram_allocation_ratio)) == (
        "east",
        "unknown",
        "1.50",
    )


NODE_PLACES = {"nic_type": "network", "nic_source": "default", **FIRST.node_paths()}


def node_form(cluster, **changes):
    data = {
        "cluster": cluster.pk,
        "name": "n1",
        "uri": FIRST.qemu_uri,
        "auth_method": "none",
        "domain_type": "qemu",
        "cpu_allocation_ratio": "4",
        "ram_allocation_ratio": "1",
        "disk_allocation_ratio": "1",
    }
    return {**data, **NODE_PLACES, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uri": "http://host/"}, "Unknown libvirt driver"),
        ({"uri": "qemu+carrier-pigeon://h/system"}, "Unknown transport"),
        ({"uri": "qemu+ssh:///system"}, "names the host"),
        ({"uri": "qemu:///system with spaces"}, "no spaces"),
        ({"uri": "qemu://"}, "needs a path"),
        ({"name": "bad name!"}, "Use letters, digits"),
        ({"name": "sim"}, "already exists"),
        ({"auth_method": "sasl"}, "SASL needs a username"),
        ({"uri": "test+unix:///default"}, "runs only domain type"),
        ({"cpu_allocation_ratio": "-1"}, "allocation ratios"),
    ],
)
def test_bad_node_input_gets_a_field_error(admin_client, sim_node, cluster, changes, message):
    response = admin_client.post("/nodes/new/", node_form(cluster, **changes))
    assert message in text(response)
    assert not Node.objects.filter(name="n1").exists()


def test_a_sasl_password_is_stored_sealed(admin_client, cluster):
    data = node_form(cluster, auth_method="sasl", username="kumo", password="s3cret")
    assert admin_client.post("/nodes/new/", data).status_code == 302
    node = Node.objects.get(name="n1")
    assert "s3cret" not in node.sealed_password and node.password == "s3cret"


def test_an_image_is_registered_from_a_file_on_the_console_host(admin_client, tmp_path, db):
    disk = tmp_path / "disk.qcow2"
    disk.write_bytes(b"\0" * 4096)
    data = {
        "kind": "machine",
        "name": "disk",
        "format": "qcow2",
        "location": str(disk),
        "arch": "x86_64",
        "vm_mode": "hvm",
        "platform": "linux",
        "virtio_root": "on",
    }
    assert admin_client.post("/images/new/", data).status_code == 302
    image = Image.objects.get(name="disk")
    assert image.ec2_id.startswith("emi-") and image.size_bytes == 4096
    again = text(admin_client.post("/images/new/", data))
    assert "already has an image with this name" in again
    missing = text(admin_client.post("/images/new/", {**data, "name": "x", "location": "/no/such"}))
    assert "No file at /no/such" in missing


def test_instance_type_sizes_must_be_positive(admin_client, db):
    page = text(
        admin_client.post(
            "/instance-types/new/", {"name": "zero", "vcpus": 0, "memory_mb": 0, "disk_gb": 0}
        )
    )
    assert "needs at least 1 vCPU" in page
    assert not InstanceType.objects.filter(name="zero").exists()


def test_a_column_path_never_calls_a_method_that_changes_data(admin):
    from nodes.templatetags.kumo import resolve

    assert resolve(admin, "save") is None and resolve(admin, "delete") is None
    assert resolve(admin, "get_username") == admin.username


@pytest.mark.parametrize(
    ("url", "target"),
    [("/instances/", "list-body"), ("/", "dashboard"), ("/nodes/sim/probe/", None)],
)
def test_live_panels_poll_a_fragment_not_the_page(admin_client, sim_node, url, target):
    headers = {"HX-Request": "true", **({"HX-Target": target} if target else {})}
    fragment = admin_client.get(url, headers=headers).content.decode()
    assert "<html" not in fragment and len(fragment.encode()) < 16 * 1024
    assert "<html" in admin_client.get(url if target else "/nodes/sim/").content.decode()
