import json

from django.core.management.base import BaseCommand, CommandError

from podcasts.pipeline import pipeline_sweep
from podcasts.stages import sweepers


class Command(BaseCommand):
    help = "Re-enqueue stuck or never-enqueued pipeline work and fail exhausted work. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stuck-after",
            type=int,
            metavar="SECONDS",
            help="treat any row in a working state longer than this as stuck (default: PIPELINE_STUCK_SECONDS, "
            "and at least the job timeout for transcriptions)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        stuck_after = options["stuck_after"]
        if stuck_after is not None and stuck_after < 0:
            raise CommandError("--stuck-after must be zero or more seconds.")
        report = pipeline_sweep(stuck_after=stuck_after)
        for name, sweep in sweepers().items():
            report[name] = sweep()
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        line = (
            f"Stuck and retried: {len(report['stuck'])}; failed: {len(report['failed'])}; "
            f"enqueued: {len(report['enqueued'])}; could not enqueue: {len(report['enqueue_failed'])}"
        )
        for name in sweepers():
            line += f"; {name}: " + ", ".join(f"{key} {value}" for key, value in report[name].items())
        self.stdout.write(line + ".")
