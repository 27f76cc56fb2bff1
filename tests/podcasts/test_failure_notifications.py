"""A feed or episode that fails reaches the inbox once: one item per feed and cause."""

import pytest

from curation.models import CurationItem
from curation.services import curation_item_resolve
from podcasts.models import Episode, Podcast
from podcasts.pipeline import failure_cause, pipeline_process
from podcasts.services import podcast_refresh
from tests.support.httpserver import Route

Status = Episode.PipelineStatus


def _feed_with_episodes(server, n: int) -> Podcast:
    podcast = Podcast.objects.create(feed_url=server.url("/feed.xml"), title="Gone Dark")
    Episode.objects.bulk_create(
        Episode(podcast=podcast, guid=f"g{i}", title=f"Episode {i}", enclosure_url=server.url(f"/audio/{i}.mp3"))
        for i in range(n)
    )
    return podcast


def test_the_cause_ignores_each_episodes_url_and_numbers():
    one = failure_cause(stage="downloading", error="Audio download failed: HTTP 404 for http://h:81/audio/1.mp3 (not retrying).")
    other = failure_cause(
        stage="downloading", error="Audio download failed: HTTP 404 for http://h:81/audio/77.mp3 (not retrying)."
    )

    assert one == other
    assert one != failure_cause(stage="transcribing", error="Audio download failed: HTTP 404 for x (not retrying).")


@pytest.mark.django_db
def test_a_broken_feed_with_100_failing_episodes_makes_one_inbox_item(http_server, media_root, django_user_model):
    podcast = _feed_with_episodes(http_server, 100)  # every enclosure answers 404

    pipeline_process()

    assert Episode.objects.filter(podcast=podcast, pipeline_status=Status.FAILED).count() == 100
    item = CurationItem.objects.get()
    assert (item.flag_class, item.severity, item.occurrences) == ("job_failed", "P0", 100)
    assert sorted(item.evidence["episode_ids"]) == sorted(podcast.episodes.values_list("pk", flat=True))

    curator = django_user_model.objects.create_user("cura", password="x", is_staff=True)
    curation_item_resolve(item, actor=curator, resolution="Host is back.")

    assert Episode.objects.filter(podcast=podcast, pipeline_status=Status.NEW).count() == 100


@pytest.mark.django_db
def test_episodes_of_a_feed_already_flagged_broken_join_the_feeds_item(http_server, media_root):
    podcast = _feed_with_episodes(http_server, 100)
    http_server.routes["/feed.xml"] = Route(b"down", 500)
    for _ in range(3):
        podcast_refresh(podcast=podcast)
    feed_item = CurationItem.objects.get(flag_class="feed_broken")

    pipeline_process()

    assert CurationItem.objects.count() == 1
    feed_item.refresh_from_db()
    assert len(feed_item.evidence["failed_episode_ids"]) == 100
    assert feed_item.occurrences == 1 + 100


@pytest.mark.django_db
def test_different_causes_in_one_feed_are_different_items(http_server, media_root):
    podcast = _feed_with_episodes(http_server, 4)
    http_server.routes["/audio/0.mp3"] = Route(b"", 410)

    pipeline_process()

    causes = sorted(item.evidence["cause"] for item in CurationItem.objects.all())
    assert len(causes) == 2 and "410" in causes[0] + causes[1]
    assert sum(item.occurrences for item in CurationItem.objects.all()) == 4
    assert podcast.episodes.filter(pipeline_status=Status.FAILED).count() == 4
