"""Probing a node and recording what it found: the "Check connection" job and the watcher's
sweep both come through here."""

import logging

from django.conf import settings

from nodes.libvirt import NodeError, probe
from nodes.models import Instance
from nodes.storage.pools import record_pools

log = logging.getLogger(__name__)


def probe_and_record(node):
    """Probe one node and store the outcome on it: facts and up, or the reason and down."""
    try:
        # The pool of each instance's directory is Kumo's bookkeeping, one per instance.
        facts = probe(node.endpoint(), settings.KUMO_PROBE_TIMEOUT, Instance.owns_pool)
    except NodeError as error:
        log.info("node %s is down: %s", node.name, error)
        node.record_failure(str(error))
        return False
    pools = facts.pop("storage_pools")
    node.record_probe(facts)
    record_pools(node, pools)
    return True
