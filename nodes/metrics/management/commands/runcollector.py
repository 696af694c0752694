"""The metrics collector process: a sample of every node each KUMO_METRICS_INTERVAL seconds,
and once an hour the removal of expired history (see nodes/metrics/collector.py)."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from nodes.metrics.collector import Collector, prune

log = logging.getLogger("nodes.metrics")
PRUNE_EVERY_S = 3600


class Command(BaseCommand):
    help = "Collect metrics of every node and instance, and prune expired history."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One sample, then exit.")

    def handle(self, *args, once=False, **options):
        collector = Collector()
        if once:
            collector.collect()
            collector.wait()
            return
        log.info("collecting metrics every %s s", settings.KUMO_METRICS_INTERVAL)
        next_sample = next_prune = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    collector.collect()
                    next_sample = now + settings.KUMO_METRICS_INTERVAL
                if now >= next_prune:
                    self.prune()
                    next_prune = now + PRUNE_EVERY_S
                close_old_connections()
                time.sleep(min(1, max(0.05, next_sample - time.monotonic())))
        except KeyboardInterrupt:
            log.info("collector stopped")

    @staticmethod
    def prune():
        try:
            prune()
        except DatabaseError as error:
            log.warning("pruning metrics history failed (next hour again): %s", error)
