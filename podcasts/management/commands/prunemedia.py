import json

from django.core.management.base import BaseCommand

from podcasts.media import media_enforce


class Command(BaseCommand):
    help = "Delete cached audio past AUDIO_RETENTION_DAYS and check MEDIA_MAX_BYTES (the scheduler runs it). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        report = media_enforce()
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(
            f"Audio deleted: {len(report['audio_deleted'])} episodes, {report['bytes_freed']} bytes; "
            f"cache: {report['bytes_used']} of {report['media_max_bytes'] or 'unlimited'} bytes"
            f"{' (budget spent: downloads wait)' if report['budget_spent'] else ''}."
        )
