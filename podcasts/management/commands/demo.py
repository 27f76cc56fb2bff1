from django.core.management.base import BaseCommand

from podcasts.services import demo_feed_ingest, demo_users_ensure


class Command(BaseCommand):
    help = "Load the bundled sample podcast, run the pipeline, create demo users, print how to log in."

    def handle(self, *args, **options):
        report = demo_feed_ingest()
        self.stdout.write(
            f"Sample podcast {report.title!r}: {report.created} new, {report.updated} updated, {report.total} episodes."
        )
        users = demo_users_ensure()
        # After the pipeline has run: one episode at an older prompt version, the rest current.
        from summaries.services import demo_summaries_ensure

        for version, episode_ids in sorted(demo_summaries_ensure().items()):
            self.stdout.write(f"Summaries at prompt {version}: {len(episode_ids)} episode(s)")
        self.stdout.write("Demo users (password 'castnotes'): " + ", ".join(users))
        self.stdout.write("Open http://127.0.0.1:8000/ and log in; the admin is at /admin/.")
