"""The tests' own libvirt daemons (tests/libvirtd.py): two can run at once, as two hosts, and
neither is the machine's."""

from lxml import etree

from nodes.libvirt import Endpoint
from nodes.libvirt.probe import probe
from tests.libvirtd import FIRST, NETWORK


def host_uuid(daemon):
    return etree.fromstring(capabilities(daemon)).findtext("host/uuid")


def capabilities(daemon):
    connection = daemon.connect()
    try:
        return connection.getCapabilities().encode()
    finally:
        connection.close()


def test_two_daemons_run_at_once_as_two_hosts(second_daemon):
    assert host_uuid(FIRST) == FIRST.host_uuid
    assert host_uuid(second_daemon) == second_daemon.host_uuid != FIRST.host_uuid
    for daemon in (FIRST, second_daemon):
        assert probe(Endpoint(daemon.qemu_uri), 10)["cpus"] > 0
        assert probe(Endpoint(daemon.test_uri), 10)["hypervisor"] == "TEST"
        assert not str(daemon.socket).startswith("/run/libvirt")


def test_guests_get_an_isolated_network_with_no_way_out():
    connection = FIRST.connect()
    try:
        network = etree.fromstring(connection.networkLookupByName(NETWORK).XMLDesc(0))
    finally:
        connection.close()
    assert network.find("forward") is None and network.find("ip") is None
