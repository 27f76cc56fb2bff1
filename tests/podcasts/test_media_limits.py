"""The audio cache's limits (issue 17 risks): AUDIO_RETENTION_DAYS deletes the audio of
episodes summarized long ago (pages then play the enclosure), MEDIA_MAX_BYTES stops
downloads with one inbox item. Both run from the scheduler (`prunemedia`)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from curation.models import CurationItem
from podcasts.download import episode_download
from podcasts.models import Episode
from tests.factories import make_episode
from tests.support.httpserver import Route

pytestmark = pytest.mark.django_db
Status = Episode.PipelineStatus


def _cached(podcast, media_root, *, days_ago: int, status=Status.SUMMARIZED, size: int = 1000) -> Episode:
    episode = make_episode(
        podcast, enclosure_url="https://cdn.example.com/original.mp3", enclosure_type="audio/mpeg", pipeline_status=status
    )
    relative = f"audio/{episode.podcast_id}/{episode.pk}.mp3"
    (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
    (media_root / relative).write_bytes(b"\x00" * size)
    Episode.objects.filter(pk=episode.pk).update(
        audio_path=relative,
        audio_bytes=size,
        audio_sha256=f"{episode.pk:064d}",
        status_changed_at=timezone.now() - timedelta(days=days_ago),
    )
    episode.refresh_from_db()
    return episode


def _scheduler_once(settings) -> None:
    """The scheduler's own loop, once (pollfeeds, sweep, prunemedia), in this process."""
    settings.REDIS_URL = ""
    call_command("scheduler", "--once", stdout=StringIO())


def test_the_scheduler_deletes_audio_summarized_past_the_retention_and_pages_play_the_enclosure(settings, media_root, podcast):
    settings.AUDIO_RETENTION_DAYS = 30
    old = _cached(podcast, media_root, days_ago=40)
    recent = _cached(podcast, media_root, days_ago=5)
    waiting = _cached(podcast, media_root, days_ago=40, status=Status.FAILED)  # never summarized
    old_file = media_root / old.audio_path

    _scheduler_once(settings)

    for episode in (old, recent, waiting):
        episode.refresh_from_db()
    assert old.audio_path == "" and not old_file.exists()
    assert old.audio_sha256  # kept: duplicate detection still works
    assert recent.audio_path and waiting.audio_path
    page = Client().get(old.get_absolute_url()).content.decode()
    assert "https://cdn.example.com/original.mp3" in page and f"/episodes/{old.pk}/audio" not in page


def test_retention_off_keeps_everything(settings, media_root, podcast):
    settings.AUDIO_RETENTION_DAYS = 0
    old = _cached(podcast, media_root, days_ago=4000)

    out = StringIO()
    call_command("prunemedia", "--json", stdout=out)

    old.refresh_from_db()
    assert old.audio_path and json.loads(out.getvalue())["audio_deleted"] == []


def test_downloads_stop_with_one_inbox_item_once_the_budget_is_spent_and_resume_after(
    settings, media_root, http_server, demo_mp3, django_capture_on_commit_callbacks, podcast
):
    settings.MEDIA_MAX_BYTES = 1500
    settings.AUDIO_RETENTION_DAYS = 30
    _cached(podcast, media_root, days_ago=1, size=1000)
    big = _cached(podcast, media_root, days_ago=60, size=1000)  # over budget together
    http_server.routes["/new.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    fresh = make_episode(podcast, enclosure_url=http_server.url("/new.mp3"))
    settings.AUDIO_RETENTION_DAYS = 0  # first: nothing may be freed

    first = [episode_download(episode_id=fresh.pk), episode_download(episode_id=fresh.pk)]
    report = json.loads(_prunemedia())
    again = json.loads(_prunemedia())

    fresh.refresh_from_db()
    assert first == [None, None]
    assert (fresh.pipeline_status, fresh.attempts, fresh.audio_path) == (Status.NEW, 0, "")
    assert fresh.retry_after is not None
    assert report["budget_spent"] and again["budget_spent"]
    item = CurationItem.objects.get(flag_class="media_budget_spent")
    assert item.status == "pending" and item.evidence["bytes_used"] == 2000
    assert CurationItem.objects.filter(flag_class="media_budget_spent").count() == 1

    settings.AUDIO_RETENTION_DAYS = 30  # the old episode's audio goes: space is back
    freed = json.loads(_prunemedia())
    with django_capture_on_commit_callbacks(execute=True):
        status = episode_download(episode_id=fresh.pk)

    assert freed["audio_deleted"] == [big.pk] and not freed["budget_spent"]
    assert status in (Status.DOWNLOADED, Status.TRANSCRIBED)


def _prunemedia() -> str:
    out = StringIO()
    call_command("prunemedia", "--json", stdout=out)
    return out.getvalue()
