"""The resize action's runner (see nodes/runners.py for how runners work): the instance
stopped if it runs, moved cold when the new size fits only on another node (placement chose
it when the resize was asked), its disks grown to the new type's, its domain defined anew
from the rules, and started again if it ran.

The new type is recorded once the domain is defined with it: a failure before leaves the
old type and definition (and disks that may have grown, which the old type does not mind).
"""

from nodes.choices import ActionKind, VmState
from nodes.libvirt import Storage
from nodes.migrating import move_to
from nodes.models import Instance, InstanceType, Node
from nodes.runners import GIB, power_off, record_vnc_port, render_and_define
from nodes.states import VM_STATE_FOR_POWER


def resize(run):
    params, instance = run.action.params, run.instance
    new = InstanceType.objects.get(name=params["instance_type"])
    with run.step(f"Choose a node for {new.name}"):
        run.action.finish_step(params["placement"])
    if params["restart"]:
        with run.hypervisor() as hypervisor:
            power_off(run, hypervisor)
    if params["node"] != instance.node.name:
        move_to(run, Node.objects.get(name=params["node"]))
    with run.hypervisor() as hypervisor:
        if instance.node.domain_type != "test":  # the test driver has no disks
            with run.step(f"Grow its disks to {new.name}'s"):
                grow_disks(Storage(hypervisor), instance, new)
        instance.instance_type, instance.current_memory_mb, instance.current_vcpus = new, None, None
        render_and_define(run, hypervisor)
        run.advance(instance_type=new, current_memory_mb=None, current_vcpus=None)
        if params["restart"]:
            with run.step("Start the domain"):
                hypervisor.start(instance.uuid)
                record_vnc_port(run, hypervisor)
        power = hypervisor.power_state(instance.uuid)
    run.finish(power, vm_state=VM_STATE_FOR_POWER.get(power, VmState.STOPPED))


def grow_disks(storage, instance, new):
    """The root disk grown to new's size, the ephemeral one too (made if it had none)."""
    pool = storage.existing_pool(instance.pool_name)
    storage.grow(pool, Instance.ROOT_DISK, new.disk_gb * GIB)
    if new.ephemeral_gb:
        size = new.ephemeral_gb * GIB
        storage.create_volume(instance.pool_name, instance.directory, Instance.EPHEMERAL_DISK, size)
        storage.grow(pool, Instance.EPHEMERAL_DISK, size)


RUNNERS = {ActionKind.RESIZE: resize}
