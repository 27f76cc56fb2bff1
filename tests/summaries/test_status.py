"""The pipeline status in words (summaries.status) and GET /episodes/<id>/status."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from podcasts.models import Episode, Podcast
from summaries.generation import BUDGET_WAIT_REASON
from summaries.models import Delivery
from summaries.status import episode_status
from tests.factories import make_summary

Status = Episode.PipelineStatus
STATUS_KEYS = {"stage", "progress", "detail", "updated_at", "summary_ready", "regeneration_pending"}


def test_each_state_reads_in_words():
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    midnight = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)

    assert episode_status(Status.NEW).detail == "Queued"
    assert episode_status(Status.DOWNLOADED).detail == "Queued"
    assert episode_status(Status.DOWNLOADING).detail == "Downloading"
    assert episode_status(Status.TRANSCRIBING, 12 / 28, 10080.0).detail == "Transcribing 1:12:00 of 2:48:00"
    assert episode_status(Status.TRANSCRIBING, 0.42).detail == "Transcribing 42%"
    assert episode_status(Status.TRANSCRIBING).detail == "Transcribing"
    assert episode_status(Status.SUMMARIZING).detail == "Summarizing"
    waiting = episode_status(Status.TRANSCRIBED, last_error=BUDGET_WAIT_REASON, retry_after=midnight, now=now)
    assert waiting.detail == "Waiting for today's LLM budget — resumes at 00:00 UTC"
    assert episode_status(Status.FAILED, last_error="the audio is not a supported format", staff=True).detail == (
        "Failed: the audio is not a supported format"
    )
    assert episode_status(Status.FAILED, last_error="the audio is not a supported format").detail == "Not available"
    assert episode_status(Status.SKIPPED, last_error="Not summarized: transcript too short").detail == (
        "Skipped: too short to summarize"
    )
    assert episode_status(Status.CANCELLED).detail == "Cancelled"
    assert episode_status(Status.SUMMARIZED).final and not episode_status(Status.TRANSCRIBING).final


@pytest.fixture
def podcast(db):
    return Podcast.objects.create(feed_url="https://feeds.example.com/status.xml", title="Status FM")


def _episode(podcast, **fields):
    fields.setdefault("guid", f"g-{Episode.objects.count() + 1}")
    return Episode.objects.create(podcast=podcast, title="Tides", **fields)


@pytest.mark.django_db
def test_status_endpoint_answers_the_shape_with_cache_headers(podcast):
    episode = _episode(podcast, pipeline_status=Status.TRANSCRIBING, progress=0.5, audio_duration=3600.0)

    response = Client().get(f"/episodes/{episode.pk}/status")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == STATUS_KEYS
    assert body["stage"] == "transcribing"
    assert body["progress"] == 0.5
    assert body["detail"] == "Transcribing 30:00 of 1:00:00"
    assert body["summary_ready"] is False and body["regeneration_pending"] is False
    assert datetime.fromisoformat(body["updated_at"]) <= timezone.now()
    assert "private" in response["Cache-Control"] and "max-age=2" in response["Cache-Control"]
    assert response["ETag"]


@pytest.mark.django_db
def test_status_endpoint_answers_304_for_an_unchanged_etag_and_200_once_it_moves(podcast):
    episode = _episode(podcast, pipeline_status=Status.SUMMARIZING)
    client = Client()
    etag = client.get(f"/episodes/{episode.pk}/status")["ETag"]

    unchanged = client.get(f"/episodes/{episode.pk}/status", HTTP_IF_NONE_MATCH=etag)
    Episode.objects.filter(pk=episode.pk).update(pipeline_status=Status.SUMMARIZED)
    make_summary(episode)
    moved = client.get(f"/episodes/{episode.pk}/status", HTTP_IF_NONE_MATCH=etag)

    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED
    assert moved.status_code == HTTPStatus.OK
    assert moved.json()["summary_ready"] is True


@pytest.mark.django_db
def test_status_endpoint_is_404_for_hidden_episodes_and_inactive_podcasts(podcast):
    hidden = _episode(podcast, hidden=True)
    disabled = Podcast.objects.create(feed_url="https://feeds.example.com/off.xml", status=Podcast.Status.DISABLED)
    of_disabled = _episode(disabled)

    assert Client().get(f"/episodes/{hidden.pk}/status").status_code == HTTPStatus.NOT_FOUND
    assert Client().get(f"/episodes/{of_disabled.pk}/status").status_code == HTTPStatus.NOT_FOUND
    assert Client().get("/episodes/999999/status").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_status_endpoint_shows_the_failure_reason_to_staff_only(podcast, django_user_model):
    episode = _episode(podcast, pipeline_status=Status.FAILED, last_error="HTTP 404 from the audio host")
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    reader = django_user_model.objects.create_user("reader", password="x")
    as_staff, as_reader = Client(), Client()
    as_staff.force_login(staff)
    as_reader.force_login(reader)

    assert as_staff.get(f"/episodes/{episode.pk}/status").json()["detail"] == "Failed: HTTP 404 from the audio host"
    assert as_reader.get(f"/episodes/{episode.pk}/status").json()["detail"] == "Not available"
    assert Client().get(f"/episodes/{episode.pk}/status").json()["detail"] == "Not available"


@pytest.mark.django_db
def test_status_endpoint_reports_the_users_own_pending_regeneration(podcast, django_user_model):
    episode = _episode(podcast, pipeline_status=Status.SUMMARIZED)
    make_summary(episode)
    user = django_user_model.objects.create_user("premium", password="x")
    Delivery.objects.create(episode=episode, user=user, kind=Delivery.Kind.REGENERATION, target_prompt_version="v3")
    client = Client()
    client.force_login(user)

    mine = client.get(f"/episodes/{episode.pk}/status").json()
    anonymous = Client().get(f"/episodes/{episode.pk}/status").json()

    assert mine["regeneration_pending"] is True and mine["summary_ready"] is True
    assert anonymous["regeneration_pending"] is False


@pytest.mark.django_db
def test_status_endpoint_reads_one_query(podcast, django_user_model):
    episode = _episode(podcast, pipeline_status=Status.DOWNLOADING)
    user = django_user_model.objects.create_user("poller", password="x")
    signed_in = Client()
    signed_in.force_login(user)
    signed_in.get(f"/episodes/{episode.pk}/status")  # the session is cached after the first request

    with CaptureQueriesContext(connection) as anonymous:
        Client().get(f"/episodes/{episode.pk}/status")
    with CaptureQueriesContext(connection) as baseline:
        signed_in.get("/episodes/999999/status")  # session and user, plus the 404's one query
    with CaptureQueriesContext(connection) as polled:
        signed_in.get(f"/episodes/{episode.pk}/status")

    assert len(anonymous) == 1
    assert len(polled) == len(baseline)
    assert sum("podcasts_episode" in query["sql"] for query in polled.captured_queries) == 1


@pytest.mark.django_db
def test_budget_wait_reads_in_words_on_the_episode_page(podcast):
    midnight = (timezone.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    episode = _episode(podcast, pipeline_status=Status.TRANSCRIBED, last_error=BUDGET_WAIT_REASON, retry_after=midnight)

    page = Client().get(episode.get_absolute_url()).content.decode()

    assert "Waiting for today&#x27;s LLM budget — resumes at 00:00 UTC" in page
    assert 'hx-trigger="every 2000ms"' in page


@pytest.mark.django_db
def test_the_live_fragment_backs_off_and_stops_once_done(podcast):
    episode = _episode(podcast, pipeline_status=Status.SUMMARIZING)
    htmx = {"HTTP_HX_REQUEST": "true"}
    live = f"/episodes/{episode.pk}/live/"

    first = Client().get(live, **htmx).content.decode()
    fourth = Client().get(live, {"poll": 3}, **htmx).content.decode()
    late = Client().get(live, {"poll": 50}, **htmx).content.decode()
    Episode.objects.filter(pk=episode.pk).update(pipeline_status=Status.SUMMARIZED)
    make_summary(episode, tldr="Tides turn twice a day.")
    done = Client().get(live, {"poll": 4}, **htmx).content.decode()
    direct = Client().get(live)

    assert 'hx-trigger="every 2000ms"' in first and "?poll=1" in first
    assert 'hx-trigger="every 6750ms"' in fourth and "?poll=4" in fourth
    assert 'hx-trigger="every 30000ms"' in late
    assert "hx-trigger" not in done and "Tides turn twice a day." in done
    assert direct.status_code == HTTPStatus.FOUND and direct["Location"] == episode.get_absolute_url()


@pytest.mark.django_db
def test_a_summarized_episode_whose_summary_awaits_review_says_only_not_summarized_yet(podcast):
    episode = _episode(podcast, pipeline_status=Status.SUMMARIZED)
    make_summary(episode, editorial_status="candidate")

    page = Client().get(episode.get_absolute_url()).content.decode()

    assert "This episode has not been summarized yet." in page
    assert 'data-testid="pipeline-status"' not in page and "hx-trigger" not in page
