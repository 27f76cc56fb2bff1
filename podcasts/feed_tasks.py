"""RQ jobs for feeds (queue `feeds`): thin, take ids, call one service.

Separate from podcasts/tasks.py, which holds the pipeline's jobs.
"""

from podcasts.models import Podcast
from podcasts.services import podcast_refresh, podcasts_refresh_active


def refresh_podcast(podcast_id: int) -> None:
    podcast = Podcast.objects.filter(pk=podcast_id).first()
    if podcast is None:
        return  # deleted since the job was enqueued
    podcast_refresh(podcast=podcast)


def poll_feeds() -> None:
    podcasts_refresh_active()
