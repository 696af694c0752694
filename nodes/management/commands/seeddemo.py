"""Seed the demo cloud: cluster, three nodes, Debian installer images, sizes, two users.

Running it again changes nothing that exists and re-creates what is missing. `make run`
calls it with --once, which seeds only a database that has no users yet, so that demo
objects an admin deleted stay deleted.
"""

import secrets
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from nodes.choices import DomainType, ImageFormat, ImageKind, NicType
from nodes.domainxml import library
from nodes.libvirt.private import DEMO_SECOND, NETWORK
from nodes.models import Cluster, Image, InstanceType, Node, Rule

INSTALLER = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
INSTANCE_TYPES = [  # name, vCPUs, memory MiB, disk GiB, ephemeral GiB
    ("m1.small", 1, 256, 5, 0),
    ("m1.medium", 1, 512, 10, 1),
    ("m1.large", 2, 1024, 20, 2),
    ("m1.xlarge", 4, 2048, 40, 4),
]
# name, URI, domain type, NIC (user-mode needs no network set up on the host), more fields.
# local-2 is on a libvirtd of Kumo's own (`manage.py privatelibvirtd`, started by `make run`),
# so that one machine can try migration: its guests get the daemon's isolated network.
NODES = [
    ("local", "qemu:///system", DomainType.QEMU, NicType.USER, {}),
    ("sim", "test+unix:///default", DomainType.TEST, NicType.NETWORK, {}),
    (
        "local-2",
        DEMO_SECOND.qemu_uri,
        DomainType.QEMU,
        NicType.NETWORK,
        {
            "nic_source": NETWORK,
            # Its own instances and volumes; the images where local keeps them (a cold
            # migration keeps the root overlay's backing path).
            "instances_path": DEMO_SECOND.node_paths()["instances_path"],
            "volumes_path": DEMO_SECOND.node_paths()["volumes_path"],
        },
    ),
]


def logins_file():
    return settings.VAR_DIR / "demo-logins.txt"


def remember_login(username, password, role):
    """Keep the demo password in var/ (mode 600) so that every `make run` can print it."""
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = logins_file()
    path.touch(mode=0o600)
    lines = [line for line in path.read_text().splitlines() if line.split()[:1] != [username]]
    lines.append(f"  {username:<7} {password}   ({role})")
    path.write_text("\n".join(lines) + "\n")


class Command(BaseCommand):
    help = "Create the demo cloud (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Seed only a database without users (a first start); else just print logins.",
        )

    def handle(self, *args, **options):
        if not (options["once"] and get_user_model().objects.exists()):
            self.seed()
        if logins_file().exists():
            self.stdout.write(logins_file().read_text())
        else:
            self.stdout.write("  (demo passwords unknown here: manage.py changepassword admin)\n")

    def seed(self):
        with transaction.atomic():
            admin = self.user("admin", staff=True)
            self.user("member", staff=False)
            cluster, _ = Cluster.objects.get_or_create(
                name="demo", defaults={"description": "The demo cloud on this machine"}
            )
            for name, uri, domain_type, nic_type, more in NODES:
                Node.objects.get_or_create(
                    name=name,
                    defaults={
                        "cluster": cluster,
                        "uri": uri,
                        "domain_type": domain_type,
                        "nic_type": nic_type,
                        **more,
                    },
                )
            for name, vcpus, memory_mb, disk_gb, ephemeral_gb in INSTANCE_TYPES:
                InstanceType.objects.get_or_create(
                    name=name,
                    defaults={
                        "vcpus": vcpus,
                        "memory_mb": memory_mb,
                        "disk_gb": disk_gb,
                        "ephemeral_gb": ephemeral_gb,
                    },
                )
            self.images(admin)
            self.boot_params_rule(admin)

    def user(self, username, staff):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            return User.objects.get(username=username)
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username, password=password, is_staff=staff, is_superuser=staff
        )
        remember_login(username, password, "admin" if staff else "member")
        return user

    def boot_params_rule(self, admin):
        """Enabled, so that "Install an image" puts the installer on the VNC screen."""
        if not Rule.objects.filter(library_slug=library.BOOT_PARAMS).exists():
            Rule.from_library(library.get(library.BOOT_PARAMS)).add_from_library(admin)

    def images(self, owner):
        self.image(owner, ImageKind.KERNEL, "debian-12-installer-kernel", INSTALLER / "linux")
        self.image(owner, ImageKind.RAMDISK, "debian-12-installer-initrd", INSTALLER / "initrd.gz")
        self.image(owner, ImageKind.MACHINE, "empty-disk", self.empty_disk(), ImageFormat.QCOW2)

    def image(self, owner, kind, name, path, image_format=ImageFormat.RAW):
        if Image.objects.filter(owner=owner, name=name).exists():
            return
        if path is None or not path.is_file():
            self.stderr.write(f"Skipping image {name}: {path} is missing.")
            return
        Image.objects.create(
            owner=owner,
            kind=kind,
            name=name,
            format=image_format,
            location=str(path),
            size_bytes=path.stat().st_size,
            is_public=True,
            description="Debian 12 netboot installer"
            if kind != ImageKind.MACHINE
            else "An empty 2 GiB disk to install onto",
        )

    def empty_disk(self):
        path = settings.KUMO_IMAGES_DIR / "empty-disk.qcow2"
        if path.exists():
            return path
        if shutil.which("qemu-img") is None:
            self.stderr.write("qemu-img is missing: no empty machine image (run make setup).")
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "2G"], check=True)
        return path
