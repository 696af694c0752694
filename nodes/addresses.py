"""Refreshing instances' addresses from their node: the watcher's side (it holds the
Hypervisor); pages read the rows (nodes/models/addresses.py)."""

import logging

from django.db import transaction
from django.utils import timezone

from nodes.choices import PowerState, VmState
from nodes.libvirt import NodeError
from nodes.models import Instance, InstanceAddress

log = logging.getLogger("nodes.watcher")


def refresh_addresses(hypervisor, node):
    """Make the address rows of node's instances what libvirt reports now: replaced for each
    running one (atomically, instance by instance), removed for the others."""
    running = [uuid for uuid, _name, power in hypervisor.domains() if power == PowerState.RUNNING]
    live = Instance.objects.filter(node=node).exclude(vm_state=VmState.DELETED)
    on_node = live.filter(uuid__in=running)
    InstanceAddress.objects.filter(instance__node=node).exclude(instance__in=on_node).delete()
    for instance in on_node:
        try:
            reported = hypervisor.addresses(instance.uuid)
        except NodeError as error:
            log.info("addresses of %s not read (kept as they were): %s", instance, error)
            continue
        replace_addresses(instance, reported)


def replace_addresses(instance, reported):
    """Replace the instance's rows with reported (dicts of nodes/libvirt/addresses.py), unless
    the database no longer has it running (a stop recorded meanwhile: then none)."""
    seen_at = timezone.now()
    with transaction.atomic():
        # One replacement at a time per instance: an event's refresh may race the sweep's.
        locked = Instance.objects.select_for_update().filter(pk=instance.pk)
        runs = list(locked.values_list("power_state", flat=True)) == [PowerState.RUNNING]
        instance.addresses.all().delete()
        if runs:
            InstanceAddress.objects.bulk_create(
                InstanceAddress(instance=instance, seen_at=seen_at, **address)
                for address in reported
            )
