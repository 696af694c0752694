"""Which action may start from which state, and where it leaves the instance (DESIGN.md §4)."""

from nodes.choices import (
    ActionKind,
    PowerState,
    SnapshotStatus,
    TaskState,
    VmState,
    VolumeStatus,
)

EVERY_STATE = set(VmState.values) - {VmState.DELETED}
# Where an instance holds its node's vCPUs, memory and disk, for capacity; one in error holds
# them only once it was launched (a failed launch left no domain behind).
HOLDS_RESOURCES = {
    VmState.BUILDING,
    VmState.ACTIVE,
    VmState.STOPPED,
    VmState.PAUSED,
    VmState.SUSPENDED,
}
SNAPSHOTTABLE = {VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED}

ALLOWED_FROM = {
    ActionKind.LAUNCH: {VmState.BUILDING},
    ActionKind.ADOPT: {VmState.BUILDING},
    ActionKind.START: {VmState.STOPPED},
    ActionKind.STOP: {VmState.ACTIVE, VmState.ERROR},
    ActionKind.REBOOT: {VmState.ACTIVE},
    ActionKind.HARD_REBOOT: {
        VmState.ACTIVE,
        VmState.STOPPED,
        VmState.PAUSED,
        VmState.SUSPENDED,
        VmState.ERROR,
    },
    ActionKind.PAUSE: {VmState.ACTIVE},
    ActionKind.UNPAUSE: {VmState.PAUSED},
    ActionKind.SUSPEND: {VmState.ACTIVE},
    ActionKind.RESUME: {VmState.SUSPENDED},
    ActionKind.SNAPSHOT: SNAPSHOTTABLE,
    ActionKind.REVERT_SNAPSHOT: SNAPSHOTTABLE,
    ActionKind.DELETE_SNAPSHOT: SNAPSHOTTABLE,
    ActionKind.CREATE_IMAGE: {VmState.STOPPED},  # a disk no guest is writing
    ActionKind.ATTACH_VOLUME: {VmState.ACTIVE, VmState.STOPPED},
    ActionKind.DETACH_VOLUME: {VmState.ACTIVE, VmState.STOPPED},
    ActionKind.TUNE: {VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED},
    ActionKind.RESIZE: {VmState.ACTIVE, VmState.STOPPED},  # stopped first (operations.resize)
    ActionKind.MIGRATE: {VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED},
    ActionKind.TERMINATE: EVERY_STATE,
    ActionKind.RESET_STATE: EVERY_STATE,
}
# Live migration moves a domain that runs; a stopped one moves cold (its disks, then its
# definition).
MIGRATES_LIVE = {VmState.ACTIVE, VmState.PAUSED}

# The tasks an action may take over: terminate any but its own, a copy of its disk into an
# image (one libvirt call that cannot be stopped: its disk must outlive it) and a migration
# (abort it first: the domain may be on either node until it ends), an admin's reset any;
# every other action starts only on an instance with no task (the pre-emption rule,
# DESIGN.md §4).
INTERRUPTS = {
    ActionKind.TERMINATE: set(TaskState.values)
    - {TaskState.DELETING, TaskState.IMAGE_UPLOADING, TaskState.MIGRATING},
    ActionKind.RESET_STATE: set(TaskState.values),
}

# The vm_state a power state seen on the node means; a crashed domain or none at all has
# no such state: each caller says what it makes of that.
VM_STATE_FOR_POWER = {
    PowerState.RUNNING: VmState.ACTIVE,
    PowerState.PAUSED: VmState.PAUSED,
    PowerState.SHUTOFF: VmState.STOPPED,
    PowerState.SHUTDOWN: VmState.ACTIVE,
    PowerState.PMSUSPENDED: VmState.ACTIVE,
}
# The power states in which a domain runs (and has a console).
LIVE_POWER = (PowerState.RUNNING, PowerState.PAUSED)
# The vm_states a power state seen from outside Kumo may move an idle instance from (a
# suspended instance's shutoff domain stays suspended; an error one waits for an admin).
SETTLED = {VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED}

TASK_FOR = {
    ActionKind.LAUNCH: TaskState.SCHEDULING,
    ActionKind.ADOPT: TaskState.SCHEDULING,
    ActionKind.START: TaskState.POWERING_ON,
    ActionKind.STOP: TaskState.POWERING_OFF,
    ActionKind.REBOOT: TaskState.REBOOTING,
    ActionKind.HARD_REBOOT: TaskState.REBOOTING_HARD,
    ActionKind.PAUSE: TaskState.PAUSING,
    ActionKind.UNPAUSE: TaskState.UNPAUSING,
    ActionKind.SUSPEND: TaskState.SUSPENDING,
    ActionKind.RESUME: TaskState.RESUMING,
    ActionKind.SNAPSHOT: TaskState.SNAPSHOTTING,
    ActionKind.REVERT_SNAPSHOT: TaskState.SNAPSHOTTING,
    ActionKind.DELETE_SNAPSHOT: TaskState.SNAPSHOTTING,
    ActionKind.CREATE_IMAGE: TaskState.IMAGE_UPLOADING,
    ActionKind.ATTACH_VOLUME: TaskState.ATTACHING_VOLUME,
    ActionKind.DETACH_VOLUME: TaskState.DETACHING_VOLUME,
    ActionKind.TUNE: TaskState.TUNING,
    ActionKind.RESIZE: TaskState.RESIZING,
    ActionKind.MIGRATE: TaskState.MIGRATING,
    ActionKind.TERMINATE: TaskState.DELETING,
}

# The volume state an action on a volume sets when it starts (a compare-and-set from
# VOLUME_FROM), and the one a failure leaves: a failed create or delete leaves a volume to
# delete (again); a failed attach, one free; a failed detach, one still attached.
VOLUME_TASK = {
    ActionKind.CREATE_VOLUME: VolumeStatus.CREATING,
    ActionKind.DELETE_VOLUME: VolumeStatus.DELETING,
    ActionKind.ATTACH_VOLUME: VolumeStatus.ATTACHING,
    ActionKind.DETACH_VOLUME: VolumeStatus.DETACHING,
}
# Actions that copy a volume: while one is unfinished, the volume is neither attached nor
# deleted (a snapshot is not deleted while an image or a volume is made of it:
# nodes/storage/snapshots.readers).
READS_VOLUME = {ActionKind.CREATE_IMAGE, ActionKind.SNAPSHOT_VOLUME}
# A volume snapshot's state while an action makes or deletes it, where success leaves it and
# where a failure does (a failed snapshot is left to delete, with whatever it copied).
SNAPSHOT_TASK = {
    ActionKind.SNAPSHOT_VOLUME: SnapshotStatus.PENDING,
    ActionKind.DELETE_VOLUME_SNAPSHOT: SnapshotStatus.DELETING,
}
SNAPSHOT_RESULT = {
    ActionKind.SNAPSHOT_VOLUME: SnapshotStatus.COMPLETED,
    ActionKind.DELETE_VOLUME_SNAPSHOT: SnapshotStatus.DELETED,
}
SNAPSHOT_DELETABLE = {SnapshotStatus.COMPLETED, SnapshotStatus.ERROR}
VOLUME_FROM = {
    ActionKind.DELETE_VOLUME: {VolumeStatus.AVAILABLE, VolumeStatus.ERROR},
    ActionKind.ATTACH_VOLUME: {VolumeStatus.AVAILABLE},
    ActionKind.DETACH_VOLUME: {VolumeStatus.IN_USE},
}
VOLUME_RESULT = {
    ActionKind.CREATE_VOLUME: VolumeStatus.AVAILABLE,
    ActionKind.DELETE_VOLUME: VolumeStatus.DELETED,
    ActionKind.ATTACH_VOLUME: VolumeStatus.IN_USE,
    ActionKind.DETACH_VOLUME: VolumeStatus.AVAILABLE,
}
VOLUME_AFTER_FAILURE = {
    ActionKind.CREATE_VOLUME: VolumeStatus.ERROR,
    ActionKind.DELETE_VOLUME: VolumeStatus.ERROR,
    ActionKind.ATTACH_VOLUME: VolumeStatus.AVAILABLE,
    ActionKind.DETACH_VOLUME: VolumeStatus.IN_USE,
}

# Where a successful action leaves vm_state (a snapshot leaves it as it was).
RESULT = {
    ActionKind.LAUNCH: VmState.ACTIVE,
    ActionKind.START: VmState.ACTIVE,
    ActionKind.STOP: VmState.STOPPED,
    ActionKind.REBOOT: VmState.ACTIVE,
    ActionKind.HARD_REBOOT: VmState.ACTIVE,
    ActionKind.PAUSE: VmState.PAUSED,
    ActionKind.UNPAUSE: VmState.ACTIVE,
    ActionKind.SUSPEND: VmState.SUSPENDED,
    ActionKind.RESUME: VmState.ACTIVE,
    ActionKind.TERMINATE: VmState.DELETED,
}

# Actions a user picks; launch and adopt start by creating an instance, making an image by
# naming the image (operations.make_image), the volume ones from the volume
# (nodes/storage/volumes.py); the snapshot ones name a snapshot and are offered next to it;
# those WITH_OPTIONS (what to tune, the type to resize to, where to migrate) have forms of
# their own (operations.tuning, operations.migration) and, in the API, fields of their own.
ON_SNAPSHOT = {ActionKind.REVERT_SNAPSHOT, ActionKind.DELETE_SNAPSHOT}
WITH_OPTIONS = {
    ActionKind.TUNE,
    ActionKind.RESIZE,
    ActionKind.MIGRATE,
    ActionKind.ABORT_MIGRATION,
}
STARTED_APART = {
    ActionKind.LAUNCH,
    ActionKind.ADOPT,
    ActionKind.CREATE_IMAGE,
    ActionKind.IMPORT_IMAGE,  # of no instance
    *VOLUME_TASK,
    *SNAPSHOT_TASK,
    *WITH_OPTIONS,
}
USER_ACTIONS = [kind for kind in ActionKind if kind not in STARTED_APART]
ADMIN_ONLY = {ActionKind.RESET_STATE, ActionKind.MIGRATE, ActionKind.ABORT_MIGRATION}
# Actions after which a console link issued before must not open (the proxy closes the
# sessions themselves when the instance stops or goes).
CHANGES_CONSOLE = {
    ActionKind.STOP,
    ActionKind.REBOOT,
    ActionKind.HARD_REBOOT,
    ActionKind.SUSPEND,
    ActionKind.REVERT_SNAPSHOT,
    ActionKind.TERMINATE,
    ActionKind.RESET_STATE,
}


def allowed_now(instance, kind):
    """Whether kind may start now (the rule operations.claim applies in the database)."""
    if instance.vm_state not in ALLOWED_FROM[kind]:
        return False
    return instance.task_state is None or instance.task_state in INTERRUPTS.get(kind, ())


def available_actions(instance, user):
    return [
        kind
        for kind in USER_ACTIONS
        if kind not in ON_SNAPSHOT
        and allowed_now(instance, kind)
        and (user.is_staff or kind not in ADMIN_ONLY)
    ]


def refusal(instance, kind):
    """Why kind may not start now, in words for a 409."""
    label = ActionKind(kind).label.lower()
    if instance.vm_state == "deleted":
        return f"{instance.ec2_id} is terminated."
    if instance.task_state and instance.task_state not in INTERRUPTS.get(kind, ()):
        busy = instance.get_task_state_display().lower()
        return f"{instance.ec2_id} is busy ({busy}); try again when it is done."
    allowed = ", ".join(sorted(ALLOWED_FROM[kind]))
    return (
        f"Cannot {label} {instance.ec2_id} while it is {instance.vm_state} (only from {allowed})."
    )
