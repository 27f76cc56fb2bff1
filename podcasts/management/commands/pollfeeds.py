import json

from django.core.management.base import BaseCommand, CommandError

from podcasts.services import podcasts_refresh_active


class Command(BaseCommand):
    help = "Refresh every active feed (conditional GET); failures are recorded on each podcast."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON list, one object per feed")

    def handle(self, *args, **options):
        reports = podcasts_refresh_active()
        if options["json"]:
            self.stdout.write(json.dumps([report.as_json() for report in reports]))
        else:
            for report in reports:
                state = (
                    f"failed: {report.error}"
                    if report.error
                    else ("not modified" if report.not_modified else f"{report.created} new, {report.updated} updated")
                )
                self.stdout.write(f"podcast {report.podcast_id} {report.title!r}: {state}")
        failed = sum(1 for report in reports if report.error)
        if failed and failed == len(reports):
            raise CommandError(f"All {failed} feeds failed to refresh.")
