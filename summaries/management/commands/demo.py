import os

from django.core.management.base import BaseCommand

from podcasts.models import Episode
from podcasts.pipeline import pipeline_process
from podcasts.services import demo_episode_replay, demo_feed_ingest, demo_users_ensure
from summaries.services import demo_summaries_ensure


def _run_pipeline(report) -> None:
    """Drive the sample episodes through every stage while the sample server is still up.

    Without Redis the ingest already ran them (jobs are synchronous) and this finds
    nothing to do; with REDIS_URL set, queued jobs would fetch from a server that is
    gone by then, so the demo runs the stages here and the queued copies become no-ops.
    """
    ids = list(Episode.objects.filter(podcast_id=report.podcast_id).values_list("pk", flat=True))
    pipeline_process(episode_ids=ids, ignore_backoff=True)


class Command(BaseCommand):
    help = "Load the bundled sample podcast, run the pipeline, create demo users, print how to log in."

    def handle(self, *args, **options):
        report = demo_feed_ingest(then=_run_pipeline)
        self.stdout.write(
            f"Sample podcast {report.title!r}: {report.created} new, {report.updated} updated, {report.total} episodes."
        )
        users = demo_users_ensure(subscribe_to=(report.podcast_id,))
        # After the pipeline has run: one episode at an older prompt version, the rest current.
        for version, episode_ids in sorted(demo_summaries_ensure().items()):
            self.stdout.write(f"Summaries at prompt {version}: {len(episode_ids)} episode(s)")
        self.stdout.write("Demo users (password 'castnotes'): " + ", ".join(users))
        replayed = demo_episode_replay(podcast_id=report.podcast_id)
        if replayed is not None:
            self.stdout.write(
                f"Episode {replayed} is queued to be transcribed again: scripts/demo.sh runs it in the background "
                f"(or run `manage.py process`); watch /episodes/{replayed}/ follow it live."
            )
        port = os.environ.get("PORT", "8000")
        self.stdout.write(
            f"Open http://127.0.0.1:{port}/ and log in as 'premium' to regenerate the outdated summary; "
            "'curator' or 'admin' for the curation inbox at /admin/ and the pipeline at /admin/pipeline/."
        )
