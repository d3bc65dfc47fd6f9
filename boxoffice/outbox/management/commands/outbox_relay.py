"""Deliver due outbox messages now (`--loop` keeps doing it, and runs the periodic jobs the apps
registered - e.g. expiring holds - for setups without Celery beat)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from boxoffice.outbox.registry import outbox_periodic_jobs
from boxoffice.outbox.services import outbox_relay


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Run until interrupted.")
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.OUTBOX_RELAY_INTERVAL_SECONDS,
            help="Seconds between passes with --loop.",
        )

    def _run_due_jobs(self, last_run: dict[str, float]) -> None:
        now = time.monotonic()
        for name, (job, every) in outbox_periodic_jobs().items():
            if now - last_run.get(name, float("-inf")) < every:
                continue
            last_run[name] = now
            try:
                result = job()
            except Exception as exc:  # a failing job must not end the loop
                self.stderr.write(f"periodic job {name} failed: {exc}")
                continue
            if result:
                self.stdout.write(f"{name}: {result}")

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        last_run: dict[str, float] = {}
        try:
            while True:
                close_old_connections()
                if loop:
                    self._run_due_jobs(last_run)
                try:
                    outcomes = outbox_relay()
                except Exception as exc:  # a database blip must not end the loop
                    if not loop:
                        raise
                    self.stderr.write(f"outbox relay pass failed: {exc}")
                    outcomes = {}
                if any(outcomes.values()) or not loop:
                    self.stdout.write(f"outbox relay: {outcomes}")
                if not loop:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return
