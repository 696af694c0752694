"""Every state and enumerated property of Kumo's inventory, as TextChoices."""

from django.db import models


class PlacementPolicy(models.TextChoices):
    """How a cluster picks a node for a new instance (Eucalyptus SCHEDPOLICY)."""

    GREEDY = "GREEDY", "Greedy (fill the first node that fits)"
    ROUNDROBIN = "ROUNDROBIN", "Round robin"
    SPREAD = "SPREAD", "Spread (most free memory)"


class AuthMethod(models.TextChoices):
    NONE = "none", "None (local socket or trusted transport)"
    SASL = "sasl", "SASL username and password"
    TLS = "tls", "TLS client certificate"
    SSH = "ssh", "SSH key"


class DomainType(models.TextChoices):
    KVM = "kvm", "KVM (hardware virtualization)"
    QEMU = "qemu", "QEMU (TCG software emulation)"
    XEN = "xen", "Xen"
    TEST = "test", "libvirt test driver"


class NodeStatus(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"
    UNKNOWN = "unknown", "Unknown"


class ImageKind(models.TextChoices):
    MACHINE = "machine", "Machine image"
    KERNEL = "kernel", "Kernel"
    RAMDISK = "ramdisk", "Ramdisk"
    ISO = "iso", "ISO (CD-ROM)"  # an installer's, booted from a CD-ROM


class ImageStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # being made from an instance's disk: not launchable yet
    AVAILABLE = "available", "Available"


IMAGE_ID_PREFIX = {
    ImageKind.MACHINE: "emi",
    ImageKind.KERNEL: "eki",
    ImageKind.RAMDISK: "eri",
    ImageKind.ISO: "emi",  # bootable, as machine images are
}


class ImageFormat(models.TextChoices):
    QCOW2 = "qcow2", "qcow2"
    RAW = "raw", "raw"


class Architecture(models.TextChoices):
    X86_64 = "x86_64", "x86_64"
    I686 = "i686", "i686"
    AARCH64 = "aarch64", "aarch64"


class VmMode(models.TextChoices):
    HVM = "hvm", "Full virtualization (hvm)"
    XEN = "xen", "Xen paravirtualization"


class Platform(models.TextChoices):
    LINUX = "linux", "Linux"
    WINDOWS = "windows", "Windows"


class VmState(models.TextChoices):
    BUILDING = "building", "Building"
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"
    PAUSED = "paused", "Paused"
    SUSPENDED = "suspended", "Suspended"
    ERROR = "error", "Error"
    DELETED = "deleted", "Deleted"


class TaskState(models.TextChoices):
    SCHEDULING = "scheduling", "Scheduling"
    SPAWNING = "spawning", "Spawning"
    POWERING_ON = "powering_on", "Powering on"
    POWERING_OFF = "powering_off", "Powering off"
    REBOOTING = "rebooting", "Rebooting"
    REBOOTING_HARD = "rebooting_hard", "Rebooting (hard)"
    PAUSING = "pausing", "Pausing"
    UNPAUSING = "unpausing", "Unpausing"
    SUSPENDING = "suspending", "Suspending"
    RESUMING = "resuming", "Resuming"
    SNAPSHOTTING = "snapshotting", "Snapshotting"
    IMAGE_UPLOADING = "image_uploading", "Making an image"
    ATTACHING_VOLUME = "attaching_volume", "Attaching a volume"
    DETACHING_VOLUME = "detaching_volume", "Detaching a volume"
    TUNING = "tuning", "Tuning"
    RESIZING = "resizing", "Resizing"
    MIGRATING = "migrating", "Migrating"
    DELETING = "deleting", "Deleting"


class PowerState(models.TextChoices):
    """The domain state as the hypervisor reports it."""

    NOSTATE = "nostate", "No state"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    SHUTDOWN = "shutdown", "Shutting down"
    SHUTOFF = "shutoff", "Shut off"
    CRASHED = "crashed", "Crashed"
    PMSUSPENDED = "pmsuspended", "Suspended by the guest"


class CpuMode(models.TextChoices):
    """The guest CPU (seed 001: host-passthrough for nested KVM)."""

    AUTO = "auto", "Automatic (host-model on KVM, none otherwise)"
    HOST_MODEL = "host-model", "host-model"
    HOST_PASSTHROUGH = "host-passthrough", "host-passthrough"
    CUSTOM = "custom", "Custom model"
    NONE = "none", "None (the hypervisor's default)"


class NicType(models.TextChoices):
    NETWORK = "network", "libvirt network"
    BRIDGE = "bridge", "Host bridge"
    USER = "user", "User-mode (SLIRP, no host set-up)"


class RuleScope(models.TextChoices):
    GLOBAL = "global", "Every instance"
    CLUSTER = "cluster", "Instances in one cluster"
    NODE = "node", "Instances on one node"
    IMAGE = "image", "Instances of one image"
    INSTANCE_TYPE = "instance_type", "Instances of one type"
    OWNER = "owner", "Instances of one user"


class ActionKind(models.TextChoices):
    LAUNCH = "launch", "Launch"
    ADOPT = "adopt", "Adopt"
    START = "start", "Start"
    STOP = "stop", "Stop"
    REBOOT = "reboot", "Reboot"
    HARD_REBOOT = "hard_reboot", "Hard reboot"
    PAUSE = "pause", "Pause"
    UNPAUSE = "unpause", "Unpause"
    SUSPEND = "suspend", "Suspend"
    RESUME = "resume", "Resume"
    SNAPSHOT = "snapshot", "Snapshot"
    REVERT_SNAPSHOT = "revert_snapshot", "Revert to snapshot"
    DELETE_SNAPSHOT = "delete_snapshot", "Delete snapshot"
    CREATE_IMAGE = "create_image", "Make an image"
    IMPORT_IMAGE = "import_image", "Import an image"
    ATTACH_VOLUME = "attach_volume", "Attach a volume"
    DETACH_VOLUME = "detach_volume", "Detach a volume"
    CREATE_VOLUME = "create_volume", "Create a volume"
    DELETE_VOLUME = "delete_volume", "Delete a volume"
    SNAPSHOT_VOLUME = "snapshot_volume", "Snapshot a volume"
    DELETE_VOLUME_SNAPSHOT = "delete_volume_snapshot", "Delete a volume snapshot"
    TUNE = "tune", "Tune"
    RESIZE = "resize", "Resize"
    MIGRATE = "migrate", "Migrate"
    ABORT_MIGRATION = "abort_migration", "Abort the migration"
    TERMINATE = "terminate", "Terminate"
    RESET_STATE = "reset_state", "Reset state"


class VolumeStatus(models.TextChoices):
    """EC2's volume states; each change but to error is a queued action's (DESIGN.md §4)."""

    CREATING = "creating", "Creating"
    AVAILABLE = "available", "Available"
    ATTACHING = "attaching", "Attaching"
    IN_USE = "in-use", "In use"
    DETACHING = "detaching", "Detaching"
    DELETING = "deleting", "Deleting"
    ERROR = "error", "Error"
    DELETED = "deleted", "Deleted"


class SnapshotStatus(models.TextChoices):
    """EC2's snapshot states, and deleting/deleted as for volumes."""

    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    ERROR = "error", "Error"
    DELETING = "deleting", "Deleting"
    DELETED = "deleted", "Deleted"


class ActionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ConsoleKind(models.TextChoices):
    VNC = "vnc", "VNC"
    SERIAL = "serial", "Serial"


class AddressFamily(models.TextChoices):
    IPV4 = "ipv4", "IPv4"
    IPV6 = "ipv6", "IPv6"


class AddressSource(models.TextChoices):
    """Where libvirt read an address (its interfaceAddresses sources)."""

    LEASE = "lease", "DHCP lease of a libvirt network"
    AGENT = "agent", "QEMU guest agent"
    ARP = "arp", "Host ARP table"
