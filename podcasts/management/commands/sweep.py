import json

from django.core.management.base import BaseCommand, CommandError


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
        from podcasts.pipeline import pipeline_sweep

        stuck_after = options["stuck_after"]
        if stuck_after is not None and stuck_after < 0:
            raise CommandError("--stuck-after must be zero or more seconds.")
        from summaries.deliveries import deliveries_sweep

        report = pipeline_sweep(stuck_after=stuck_after)
        report["deliveries"] = deliveries_sweep()
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(
            f"Stuck and retried: {len(report['stuck'])}; failed: {len(report['failed'])}; "
            f"enqueued: {len(report['enqueued'])}; could not enqueue: {len(report['enqueue_failed'])}; "
            f"deliveries reset: {report['deliveries']['reset']}, re-enqueued: {report['deliveries']['enqueued']}."
        )
