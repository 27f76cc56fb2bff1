import json

from django.core.management.base import BaseCommand, CommandError

from podcasts.models import Episode
from podcasts.pipeline import pipeline_process


class Command(BaseCommand):
    help = (
        "Drive pending episodes through every pipeline stage in this process "
        "(download, transcribe, summarize). Episodes in backoff wait unless named with --episode."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--episode",
            type=int,
            action="append",
            dest="episodes",
            metavar="ID",
            help="only this episode (repeatable); ignores backoff",
        )
        parser.add_argument("--limit", type=int, help="at most N episodes")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        episode_ids = options["episodes"] or None
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number.")
        if episode_ids:
            missing = sorted(set(episode_ids) - set(Episode.objects.filter(pk__in=episode_ids).values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"No episode with id {', '.join(map(str, missing))}.")
        report = pipeline_process(episode_ids=episode_ids, limit=limit, ignore_backoff=bool(episode_ids))
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        for row in report["episodes"]:
            line = f"episode {row['id']}: {row['status']}"
            if row["last_error"]:
                line += f" ({row['last_error'][:200]})"
            self.stdout.write(line)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(report["counts"].items())) or "nothing pending"
        waiting = f"; {len(report['waiting'])} waiting for their retry time" if report["waiting"] else ""
        errors = (
            f"; stage errors (see the log) for episode(s) {', '.join(map(str, report['errors']))}" if report["errors"] else ""
        )
        self.stdout.write(f"Processed {report['processed']} episode(s): {counts}{waiting}{errors}.")
