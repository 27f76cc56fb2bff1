"""Real workers: two racing one delivery send one email (PostgreSQL, real threads), and a
real RQ worker on a real Redis runs an enqueued regeneration end to end."""

import pytest

from podcasts.models import Episode, Profile, Transcript
from summaries.deliveries import delivery_run
from summaries.models import Delivery, Summary
from summaries.regeneration import regeneration_request
from tests.factories import make_podcast, make_summary, make_user
from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.transcripts import short_transcript
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def offline_summarizer(settings):
    settings.SUMMARY_PROVIDER = "extractive"
    settings.ANTHROPIC_API_KEY = ""
    settings.SUMMARY_PROMPT_VERSION = "v2"


@pytest.fixture
def smtp_server(settings):
    server = FakeSMTP().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def episode(db):
    data = short_transcript()
    episode = Episode.objects.create(podcast=make_podcast(), guid="race-1", title="Race", pipeline_status="summarized")
    Transcript.objects.create(episode=episode, source="whisper", segments=data["segments"], text=data["text"])
    make_summary(episode, prompt_version="v1", tldr="Old.")
    return episode


@pytest.mark.postgres_only
def test_two_workers_racing_one_delivery_send_one_email(episode, smtp_server, redis_queues):
    user = make_user(plan=Profile.Plan.PREMIUM)
    delivery = regeneration_request(episode_id=episode.pk, user=user)  # enqueued to Redis, no worker there
    outcomes = run_at_once(*[lambda: delivery_run(delivery_id=delivery.pk)] * 2)

    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(smtp_server.messages) == 1
    assert Summary.objects.filter(episode=episode).count() == 2


def test_rq_worker_runs_an_enqueued_regeneration(episode, smtp_server, redis_queues):
    import django_rq
    from rq import SimpleWorker

    user = make_user(plan=Profile.Plan.PREMIUM)
    delivery = regeneration_request(episode_id=episode.pk, user=user)
    queue = django_rq.get_queue("deliveries")
    assert queue.count == 1
    assert Delivery.objects.get(pk=delivery.pk).status == "pending"

    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)

    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert delivery.summary.editorial_status == "published"
    assert len(smtp_server.messages) == 1
