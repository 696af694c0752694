"""Kumo's own libvirt daemons (nodes/libvirt/private.py): two can run at once, as two hosts,
neither is the machine's, and the demo's keeps its state."""

import shutil
import uuid

from lxml import etree

from nodes.libvirt import Endpoint, Hypervisor
from nodes.libvirt.probe import probe
from tests.libvirtd import FIRST, NETWORK, PrivateLibvirtd


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


def test_a_daemon_that_keeps_its_state_keeps_its_guests_definitions_over_a_restart():
    daemon = PrivateLibvirtd("k", keep_state=True)
    guest = uuid.uuid4()
    xml = (
        f"<domain type='qemu'><name>kept</name><uuid>{guest}</uuid><memory>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    try:
        daemon.start()
        with Hypervisor(Endpoint(daemon.qemu_uri), 10) as hypervisor:
            hypervisor.define(xml)
        daemon.stop()
        daemon.start()
        with Hypervisor(Endpoint(daemon.qemu_uri), 10) as hypervisor:
            assert hypervisor.domain(guest) is not None
    finally:
        daemon.stop()
        shutil.rmtree(daemon.dir, ignore_errors=True)
