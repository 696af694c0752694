"""Instances' addresses: read from libvirt (the test driver reports interface addresses; a
real QEMU guest without an agent), kept by the watcher, shown in the pages and the API,
given to stylesheets in instance.xml; the default stylesheet's guest agent channel."""

import ipaddress
import uuid

import pytest
from django.utils import timezone
from lxml import etree

from nodes.choices import NicType, PowerState
from nodes.domainxml import pipeline
from nodes.domainxml.facts import mac_for
from nodes.libvirt import Endpoint, Hypervisor, check_definition
from nodes.models import InstanceAddress
from nodes.models.addresses import NO_NIC, NOT_RUNNING, USER_MODE_NIC
from nodes.watcher import Watcher, reconcile
from tests.conftest import wait_for
from tests.domain_facts import BY_DOMAIN_TYPE
from tests.libvirtd import FIRST, NETWORK
from tests.test_domainxml import render


@pytest.fixture
def on_sim(launched_on_sim):
    """Member A's instance running on the test driver (its NIC on the network "default")."""
    return launched_on_sim


def add_address(instance, ip="192.168.122.50", mac=None):
    return InstanceAddress.objects.create(
        instance=instance,
        mac=mac or mac_for(instance.ec2_id).lower(),
        network="default",
        ip=ip,
        prefix=24,
        family="ipv4",
        source="lease",
        seen_at=timezone.now(),
    )


@pytest.fixture
def addressed(running):
    """Member A's instance, as if running, with one address recorded."""
    add_address(running)
    return running


# Reading them from libvirt and keeping them


@pytest.mark.django_db(transaction=True)
def test_reconcile_records_the_test_drivers_addresses(on_sim, member_client, api, member_a):
    reconcile(on_sim.node)
    [address] = on_sim.addresses.all()
    assert address.mac == mac_for(on_sim.ec2_id).lower()
    assert (address.network, address.family, address.source) == ("default", "ipv4", "lease")
    # The test driver makes the address up from the NIC's MAC, which is random.
    assert ipaddress.ip_address(address.ip).version == 4 and address.prefix == 24
    assert address.seen_at is not None
    assert address.ip in member_client.get("/instances/").content.decode()
    page = member_client.get(on_sim.get_absolute_url()).content.decode()
    assert f"{address.ip}/24" in page
    api.force_authenticate(member_a)
    [listed] = api.get("/api/v1/instances/", {"ip": address.ip}).json()["results"]
    assert listed["id"] == on_sim.ec2_id and listed["addresses"][0]["source"] == "lease"


@pytest.mark.django_db(transaction=True)
def test_a_refresh_replaces_the_rows_and_a_stopped_instance_loses_them(on_sim):
    add_address(on_sim, ip="10.9.9.9")  # no longer true
    reconcile(on_sim.node)
    assert [a.ip for a in on_sim.addresses.all()] != ["10.9.9.9"]
    assert on_sim.addresses.count() == 1
    with Hypervisor(on_sim.node.endpoint(), 10) as hypervisor:
        hypervisor.destroy(on_sim.uuid)
    reconcile(on_sim.node)
    assert not on_sim.addresses.exists()


@pytest.mark.django_db(transaction=True)
def test_lifecycle_events_have_the_watcher_read_the_node_again(on_sim):
    reconcile(on_sim.node)
    watcher = Watcher()
    watcher.listen()
    try:
        with Hypervisor(on_sim.node.endpoint(), 10) as hypervisor:
            hypervisor.destroy(on_sim.uuid)
            assert wait_for(lambda: not on_sim.addresses.exists(), 5), "kept after the stop"
            hypervisor.start(on_sim.uuid)
            assert wait_for(on_sim.addresses.exists, 5), "none read after the start"
    finally:
        for events in watcher.events.values():
            events.close()
        watcher.pool.shutdown(wait=True)


def started_test_domain(hypervisor, nics, agent):
    """A running test-driver domain with these NICs (and the guest agent's channel)."""
    channel = (
        "<channel type='unix'><source mode='bind'/>"
        "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
        if agent
        else ""
    )
    domain_uuid = str(uuid.uuid4())
    hypervisor.define(
        f"<domain type='test'><name>kumo-addresses-{domain_uuid[:8]}</name>"
        f"<uuid>{domain_uuid}</uuid><memory>1024</memory><os><type>hvm</type></os>"
        f"<devices>{nics}{channel}</devices></domain>"
    )
    hypervisor.start(domain_uuid)
    return domain_uuid


NICS = (
    "<interface type='network'><mac address='D0:0D:00:00:00:01'/><source network='default'/></interface>"
    "<interface type='bridge'><mac address='d0:0d:00:00:00:02'/><source bridge='br-kumo'/></interface>"
    "<interface type='user'><mac address='d0:0d:00:00:00:03'/></interface>"
)


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            False,
            {"d0:0d:00:00:00:01": ("default", "lease"), "d0:0d:00:00:00:02": ("br-kumo", "arp")},
        ),
        (
            True,
            {
                "d0:0d:00:00:00:01": ("default", "lease"),
                "d0:0d:00:00:00:02": ("br-kumo", "arp"),
                "d0:0d:00:00:00:03": ("", "agent"),  # only the agent sees a user-mode NIC
            },
        ),
    ],
)
def test_each_nic_gets_its_addresses_from_the_source_that_sees_it(agent, expected):
    with Hypervisor(Endpoint(FIRST.test_uri), 10) as hypervisor:
        domain_uuid = started_test_domain(hypervisor, NICS, agent)
        try:
            found = hypervisor.addresses(domain_uuid)
            hypervisor.destroy(domain_uuid)
            assert hypervisor.addresses(domain_uuid) == []  # no longer running
        finally:
            hypervisor.destroy(domain_uuid)
            hypervisor.undefine(domain_uuid)
    assert {a["mac"]: (a["network"], a["source"]) for a in found} == expected
    assert all(a["family"] == "ipv4" and a["prefix"] == 24 for a in found)
    assert len({a["ip"] for a in found}) == len(found)


def test_a_silent_guest_agent_and_an_empty_arp_table_are_no_error():
    """A real QEMU guest with the agent's channel and no agent in it (no OS at all), a NIC
    on the tests' isolated network (no DHCP) and one on its bridge: no address, no error."""
    domain_uuid = str(uuid.uuid4())
    with Hypervisor(Endpoint(FIRST.qemu_uri), 30) as hypervisor:
        hypervisor.define(
            f"<domain type='qemu'><name>kumo-agent-{domain_uuid[:8]}</name><uuid>{domain_uuid}</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices>"
            f"<interface type='network'><source network='{NETWORK}'/></interface>"
            f"<interface type='bridge'><source bridge='{FIRST.bridge}'/></interface>"
            "<channel type='unix'><source mode='bind'/>"
            "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
            "</devices></domain>"
        )
        try:
            hypervisor.start(domain_uuid)
            assert hypervisor.addresses(domain_uuid) == []
        finally:
            hypervisor.destroy(domain_uuid)
            hypervisor.undefine(domain_uuid)


# Shown in the pages


def test_the_instance_list_shows_and_finds_addresses(addressed, member_client):
    page = member_client.get("/instances/").content.decode()
    assert "Addresses" in page and "192.168.122.50" in page
    for query in ["192.168.122.50", "192.168.1", mac_for(addressed.ec2_id), "D0:0D"]:
        found = member_client.get("/instances/", {"q": query}).content.decode()
        assert addressed.ec2_id in found, query
    assert (
        addressed.ec2_id not in member_client.get("/instances/", {"q": "10.1.1.1"}).content.decode()
    )


def test_the_instance_page_shows_each_address(addressed, member_client):
    page = member_client.get(addressed.get_absolute_url()).content.decode()
    for shown in [mac_for(addressed.ec2_id).lower(), "default", "192.168.122.50/24"]:
        assert shown in page
    assert "DHCP lease of a libvirt network" in page
    live = member_client.get(f"/instances/{addressed.ec2_id}/live/").content.decode()
    assert "192.168.122.50/24" in live  # the live panel, polled, has them too


def test_a_user_mode_nic_says_why_there_is_no_address_and_how_to_get_one(running, member_client):
    running.node.nic_type = NicType.USER
    running.node.save()
    page = member_client.get(running.get_absolute_url()).content.decode()
    assert "libvirt cannot see the addresses of a user-mode NIC" in page
    assert "isolated or bridged libvirt network with DHCP" in page
    assert "QEMU guest agent" in page
    assert USER_MODE_NIC in page.replace("&#x27;", "'")


def test_an_instance_without_a_nic_says_so(running, member_client):
    running.domain_xml = "<domain type='test'><name>x</name><devices/></domain>"
    running.save()
    assert NO_NIC in member_client.get(running.get_absolute_url()).content.decode()


def test_a_stopped_instance_says_addresses_are_read_while_it_runs(running, member_client):
    running.power_state = PowerState.SHUTOFF
    running.save()
    assert NOT_RUNNING in member_client.get(running.get_absolute_url()).content.decode()


def test_a_member_cannot_see_another_members_addresses(addressed, world, client, member_b):
    client.force_login(member_b)
    assert "192.168.122.50" not in client.get("/instances/").content.decode()
    assert (
        addressed.ec2_id not in client.get("/instances/", {"q": "192.168.122.50"}).content.decode()
    )
    assert client.get(addressed.get_absolute_url()).status_code == 404


# The API


def test_the_api_gives_each_instances_addresses(addressed, api, member_a):
    api.force_authenticate(member_a)
    body = api.get(f"/api/v1/instances/{addressed.ec2_id}/").json()
    [address] = body["addresses"]
    assert set(address) == {"mac", "network", "ip", "prefix", "family", "source", "seen_at"}
    assert (address["ip"], address["prefix"], address["source"]) == ("192.168.122.50", 24, "lease")
    listed = api.get("/api/v1/instances/").json()["results"]
    assert {i["id"]: len(i["addresses"]) for i in listed}[addressed.ec2_id] == 1


def test_the_instance_list_filters_by_an_exact_address(addressed, world, api, admin):
    add_address(world["instance_b"], ip="fe80::1", mac="d0:0d:00:00:00:0b")
    api.force_authenticate(admin)

    def ids(ip):
        response = api.get("/api/v1/instances/", {"ip": ip})
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["results"]]

    assert ids("192.168.122.50") == [addressed.ec2_id]
    assert ids("FE80:0:0::1") == [world["instance_b"].ec2_id]  # the same IPv6 address
    assert ids("192.168.122.5") == []  # exact, not a part
    assert len(ids("")) == 2  # no filter


@pytest.mark.parametrize("ip", ["192.168.122", "not-an-ip", "1.2.3.4/24", "::g"])
def test_a_malformed_address_filter_is_a_400_on_the_field(addressed, api, member_a, ip):
    api.force_authenticate(member_a)
    response = api.get("/api/v1/instances/", {"ip": ip})
    assert response.status_code == 400
    assert list(response.json()) == ["ip"]


def test_a_member_cannot_find_another_members_instance_by_address(addressed, api, member_b):
    api.force_authenticate(member_b)
    assert api.get("/api/v1/instances/", {"ip": "192.168.122.50"}).json()["results"] == []
    assert api.get(f"/api/v1/instances/{addressed.ec2_id}/").status_code == 404


# instance.xml and the default stylesheet


def test_instance_xml_gives_stylesheets_the_addresses(addressed):
    add_address(addressed, ip="fe80::d20d:1", mac="d0:0d:00:00:00:99")  # a rule's extra NIC
    root = etree.fromstring(pipeline.instance_xml(addressed))
    nic = root.find("nics/nic")
    assert nic.get("privateIp") == nic.get("publicIp") == "192.168.122.50"
    listed = [
        (a.get("mac"), a.get("ip"), a.get("prefix"))
        for a in root.iterfind("kumo/addresses/address")
    ]
    assert (mac_for(addressed.ec2_id).lower(), "192.168.122.50", "24") in listed
    assert ("d0:0d:00:00:00:99", "fe80::d20d:1", "24") in listed


def test_an_instance_without_addresses_has_eucalyptus_none_yet(running):
    root = etree.fromstring(pipeline.instance_xml(running))
    assert root.find("nics/nic").get("privateIp") == "0.0.0.0"  # noqa: S104  (Eucalyptus: none yet)
    assert root.find("kumo/addresses") is not None and len(root.find("kumo/addresses")) == 0


@pytest.mark.parametrize(
    ("domain_type", "uri"), [("qemu", FIRST.qemu_uri), ("kvm", FIRST.qemu_uri)]
)
def test_the_default_stylesheet_gives_qemu_guests_the_agent_channel(domain_type, uri):
    outcome = render(BY_DOMAIN_TYPE[domain_type])
    assert outcome.errors == [] and outcome.warnings == []  # libvirt's RelaxNG schema
    domain = etree.fromstring(outcome.domain_xml)
    [channel] = domain.findall("devices/channel")
    assert channel.get("type") == "unix" and channel.find("source").get("mode") == "bind"
    assert channel.find("target").attrib == {"type": "virtio", "name": "org.qemu.guest_agent.0"}
    check_definition(Endpoint(uri), outcome.domain_xml, 10)  # and libvirt itself


def test_other_domain_types_get_no_agent_channel():
    for domain_type in ["test", "xen"]:
        assert b"org.qemu.guest_agent.0" not in render(BY_DOMAIN_TYPE[domain_type]).domain_xml
