"""`guanxi scheduler`: enqueue the periodic jobs on time (one scheduler runs; others stand by)."""

import sys

from django.core.management.base import BaseCommand

from guanxi.core.scheduler import run_scheduler


class Command(BaseCommand):
    help = "Enqueue periodic jobs on their schedule. A second scheduler waits and takes over when the first stops."

    def handle(self, *args, **options):
        def write(line):
            self.stdout.write(line)
            self.stdout.flush()

        code = run_scheduler(write=write)
        if code:
            sys.exit(code)
