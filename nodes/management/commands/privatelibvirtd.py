"""Run the demo's second libvirt daemon, the one node `local-2` is on, until stopped (TERM
or Ctrl-C): `make run` starts it as root, since the daemon mounts its own directories."""

import os
import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from nodes.libvirt.private import DEMO_SECOND, DaemonFailed


class Command(BaseCommand):
    help = "Run the libvirt daemon of the demo's node local-2 until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--pid-file", help="Written with this process's pid once it is up.")

    def handle(self, *args, **options):
        stopping = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stopping.set())
        try:
            DEMO_SECOND.start()
        except DaemonFailed as failure:
            raise CommandError(str(failure)) from failure
        try:
            if options["pid_file"]:
                Path(options["pid_file"]).write_text(f"{os.getpid()}\n")
            self.stdout.write(f"local-2's libvirtd is up: {DEMO_SECOND.qemu_uri}", ending="\n")
            self.stdout.flush()
            while not stopping.wait(1):
                if DEMO_SECOND.process.poll() is not None:
                    raise CommandError(f"libvirtd exited: {DEMO_SECOND.log_tail()}")
        finally:
            DEMO_SECOND.stop()
