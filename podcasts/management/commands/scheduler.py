import io
import json
import logging
import signal
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.queues import enqueue_periodic, periodic_jobs

logger = logging.getLogger("castnotes.scheduler")

# Each periodic command and its options; a missing command is logged, not fatal.
PERIODIC = [("pollfeeds", {}), ("sweep", {}), ("prunemedia", {})]


class Command(BaseCommand):
    help = "Run pollfeeds and sweep every SCHEDULER_INTERVAL seconds (the Procfile's scheduler process)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=int, help="seconds between runs (default SCHEDULER_INTERVAL)")
        parser.add_argument("--once", action="store_true", help="run each command once and exit")

    def handle(self, *args, **options):
        interval = options["interval"] or settings.SCHEDULER_INTERVAL
        if interval < 1:
            raise CommandError("--interval must be at least 1 second.")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._loop(interval=interval, once=options["once"], stopping=lambda: stopping)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self, *, interval: int, once: bool, stopping) -> None:
        while not stopping():
            started = time.monotonic()
            for name, kwargs in PERIODIC:
                try:
                    # Each run is one JSON log line (the Procfile's logs are JSON), not the command's text.
                    out = io.StringIO()
                    call_command(name, **kwargs, json=True, stdout=out, stderr=self.stderr)
                    self._log_result(name, json.loads(out.getvalue() or "null"))
                except Exception as exc:  # one failing command must not stop the others
                    logger.error(
                        "scheduled_command_failed",
                        extra={
                            "event": "scheduled_command_failed",
                            "command": name,
                            "error": f"{type(exc).__name__}: {exc}"[:300],
                        },
                    )
            for queue_name, path in periodic_jobs():
                try:
                    enqueue_periodic(queue_name, path)
                except Exception as exc:  # e.g. the embedded default runs the job here and it failed
                    logger.error(
                        "scheduled_job_failed",
                        extra={"event": "scheduled_job_failed", "job": path, "error": f"{type(exc).__name__}: {exc}"[:300]},
                    )
            if once:
                return
            while not stopping() and time.monotonic() - started < interval:
                time.sleep(0.5)

    def _log_result(self, name: str, result) -> None:
        fields = {"event": "scheduled_command_done", "command": name}
        if isinstance(result, list):  # pollfeeds: one object per feed; ids and counts only
            fields["feeds"] = len(result)
            fields["podcast_ids"] = [r.get("podcast_id") for r in result if isinstance(r, dict)][:100]
        elif isinstance(result, dict):  # sweep: lists of episode ids
            fields["result"] = result
        logger.info("scheduled_command_done", extra=fields)
