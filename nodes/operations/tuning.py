"""Tuning an instance: CPU weight and cap, memory and vCPUs up to its instance type's,
applied to the running domain and its definition (runners.tune) and recorded on the
instance, so that a re-render keeps them."""

from nodes.choices import ActionKind
from nodes.operations.actions import start_with_options
from nodes.operations.errors import Refused

MIN_MEMORY_MIB = 64
MAX_CPU_WEIGHT = 65536
# What may be tuned: the API's field names.
TUNABLE = ("cpu_weight", "cpu_cap", "memory_mib", "vcpus")


def tune(instance, user, **asked):
    """Start tuning instance to what is asked (any of TUNABLE; None leaves it as it is):
    the Action, or Refused with nothing written. Owners tune their own instances within
    their instance type, so within their quota."""
    wanted = {name: value for name, value in asked.items() if value is not None}
    if not wanted:
        raise Refused(f"Say what to tune: {', '.join(TUNABLE)}.", field="action")
    check_tuning(instance, wanted)
    return start_with_options(instance, ActionKind.TUNE, user, wanted)


def check_tuning(instance, wanted):
    """Refused (with the field) when a value is out of its range: the weight 1-65536, the
    vCPUs and memory up to the instance type's, the cap up to 100 % per vCPU it will have."""
    kind, now = instance.instance_type, instance.tuning
    within(wanted, "cpu_weight", 1, MAX_CPU_WEIGHT, "The CPU weight goes from 1 to 65536.")
    within(wanted, "vcpus", 1, kind.vcpus, f"{kind.name} has {kind.vcpus} vCPUs: from 1 to that.")
    within(
        wanted,
        "memory_mib",
        MIN_MEMORY_MIB,
        kind.memory_mb,
        f"The memory goes from {MIN_MEMORY_MIB} MiB to {kind.name}'s {kind.memory_mb} MiB.",
    )
    vcpus = wanted.get("vcpus", now.vcpus)
    cap = wanted.get("cpu_cap", now.cpu_cap)
    if not 0 <= cap <= 100 * vcpus:
        raise Refused(
            f"The CPU cap goes from 0 (none) to 100 % per vCPU: {100 * vcpus} with {vcpus} vCPUs.",
            field="cpu_cap",
        )


def within(wanted, field, lowest, highest, message):
    if field in wanted and not lowest <= wanted[field] <= highest:
        raise Refused(message, field=field)
