"""Kumo's built-in rule library: ready-made stylesheets an admin can add to the chain.

Each rule is an identity transform over the libvirt <domain> that the default stylesheet
made, plus one change; its text lives in library/<slug>.xsl next to this module and starts
with a comment saying what it does. Pure: no Django.
"""

from dataclasses import dataclass
from pathlib import Path

LIBRARY_DIR = Path(__file__).with_name("library")


@dataclass(frozen=True)
class LibraryRule:
    slug: str
    title: str
    explanation: str  # what an admin reads before enabling it

    @property
    def path(self) -> Path:
        return LIBRARY_DIR / f"{self.slug}.xsl"

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


LIBRARY: tuple[LibraryRule, ...] = (
    LibraryRule(
        "hugepages",
        "Huge pages",
        "Backs the instance's memory with the node's huge pages (<memoryBacking><hugepages/>), "
        "which makes memory-heavy guests faster. Enable it only on nodes where enough huge "
        "pages are reserved (vm.nr_hugepages) for the instances' whole memory: otherwise they "
        "fail to start.",
    ),
    LibraryRule(
        "legacy-no-virtio",
        "Legacy images without virtio",
        "For old images whose kernel has no virtio or SCSI drivers: disks move to the IDE bus "
        "as hdX, root=/dev/sda1 or /dev/vda1 on the kernel command line becomes /dev/hda1, and "
        "network interfaces use the emulated e1000 card. IDE is slow and holds at most four "
        "disks, so enable it only for the images that need it.",
    ),
    LibraryRule(
        "cache-none",
        "No host cache for virtio disks",
        'Sets cache="none" on every virtio disk, so QEMU bypasses the node\'s page cache. '
        "Suited to volumes on shared or network storage (iSCSI, NFS) and to live migration; on "
        "local disks small writes may get slower.",
    ),
    LibraryRule(
        "boot-params",
        "Boot parameters from user data",
        "Appends the value of a 'bootparams=...' line of the instance's user data to the kernel "
        "command line, e.g. to boot an installer with ks= or vnc. It only affects instances "
        "booted from a kernel and ramdisk. Users choose these arguments, so enable it only "
        "where they may change how their kernel boots.",
    ),
    LibraryRule(
        "vnc-debug",
        "VNC console for debugging",
        "Gives instances without graphics a VNC console listening on 127.0.0.1 (parameter "
        "'listen'), to watch a failing boot or drive an installer. The console has no "
        "password and takes a port on the node per instance: use it briefly and on a trusted "
        "network only.",
    ),
    LibraryRule(
        "cpu-passthrough",
        "Host CPU passthrough",
        'Shows the guest the node\'s exact CPU (<cpu mode="host-passthrough"/>), which nested '
        "KVM and some workloads need. Instances can then only live-migrate between nodes with "
        "identical CPUs, so use it on homogeneous clusters.",
    ),
    LibraryRule(
        "extra-nic",
        "Extra network interface",
        "Adds a virtio network interface on the libvirt network named by the parameter "
        "'network' (default 'default') after the instance's other interfaces. The network "
        "must exist on every node, and the image must configure the extra NIC itself.",
    ),
    LibraryRule(
        "disk-serial-volume-id",
        "Volume id as disk serial",
        "Gives each disk whose source path contains a volume id (vol- and 8 hex digits) that "
        "id as its serial, so the guest finds the volume as /dev/disk/by-id/virtio-vol-... "
        "whatever device name it got. Other disks keep their serial.",
    ),
)

BY_SLUG = {rule.slug: rule for rule in LIBRARY}
BOOT_PARAMS = "boot-params"  # reads the bootparams= line of the user data


def get(slug: str) -> LibraryRule:
    """The library rule named slug (KeyError if there is none)."""
    return BY_SLUG[slug]
