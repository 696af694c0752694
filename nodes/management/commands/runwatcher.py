"""The node watcher process: lifecycle events, probes every KUMO_WATCH_INTERVAL seconds,
reconciliation, and recovery of actions whose worker died (see nodes/watcher.py)."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from nodes.hooks import HookFailed, run_hooks
from nodes.watcher import Watcher

log = logging.getLogger("nodes.watcher")


class Command(BaseCommand):
    help = "Watch the nodes: events, periodic probes and reconciliation, dead-job recovery."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One sweep, then exit.")

    def handle(self, *args, once=False, **options):
        watcher = Watcher()
        if once:
            watcher.sweep()
            watcher.wait()
            return
        try:
            run_hooks("post-init", settings.BASE_DIR)
        except HookFailed as error:
            log.error("%s", error)
        log.info("watching nodes (probes every %s s)", settings.KUMO_WATCH_INTERVAL)
        last_sweep = 0.0
        try:
            while True:
                watcher.listen()
                if time.monotonic() - last_sweep >= settings.KUMO_WATCH_INTERVAL:
                    watcher.sweep()
                    last_sweep = time.monotonic()
                close_old_connections()
                time.sleep(1)
        except KeyboardInterrupt:
            log.info("watcher stopped")
