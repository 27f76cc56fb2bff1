import json

from django.core.management.base import BaseCommand, CommandError

from podcasts.services import FeedIngestError, podcast_add


class Command(BaseCommand):
    help = "Add a feed (or find it) and ingest it now."

    def add_arguments(self, parser):
        parser.add_argument("url", help="http(s) URL of an RSS or Atom feed")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        try:
            report = podcast_add(feed_url=options["url"])
        except FeedIngestError as exc:
            raise CommandError(str(exc)) from None
        if report.error:
            raise CommandError(report.error)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
        else:
            self.stdout.write(
                f"{report.title or options['url']} (podcast {report.podcast_id}): {report.created} new, "
                f"{report.updated} updated, {report.unchanged} unchanged, {report.total} episodes."
            )
