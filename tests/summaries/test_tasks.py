"""summarize_episode on a real RQ worker and Redis, enqueued on commit as the transcription stage does."""

import django_rq
import pytest
from django.db import transaction
from rq import SimpleWorker

from config.queues import enqueue_on_commit
from podcasts.models import Episode
from summaries.models import Summary
from tests.factories import make_transcribed_episode
from tests.support.concurrency import raised, run_at_once


@pytest.fixture
def rq_summaries(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = {name: {**conf, "URL": redis_url} for name, conf in settings.RQ_QUEUES.items()}
    return django_rq.get_queue("summaries")


def work(queue) -> None:
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_job_enqueued_on_commit_summarizes_and_a_duplicate_job_is_a_noop(rq_summaries, fake_anthropic):
    episode = make_transcribed_episode(pipeline_status=Episode.PipelineStatus.TRANSCRIBING)
    with transaction.atomic():
        Episode.objects.filter(pk=episode.pk).update(pipeline_status=Episode.PipelineStatus.TRANSCRIBED)
        enqueue_on_commit("summaries", "summaries.tasks.summarize_episode", episode.pk)
        enqueue_on_commit("summaries", "summaries.tasks.summarize_episode", episode.pk)  # at-least-once delivery
        assert rq_summaries.count == 0  # nothing is handed over before commit

    assert rq_summaries.count == 2
    work(rq_summaries)

    episode.refresh_from_db()
    assert episode.pipeline_status == Episode.PipelineStatus.SUMMARIZED
    assert Summary.objects.filter(episode=episode).count() == 1
    assert len(fake_anthropic.requests) == 1
    assert rq_summaries.failed_job_registry.count == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_for_one_episode_make_one_summary(extractive):
    from summaries.services import episode_summarize

    episode = make_transcribed_episode()
    results = run_at_once(*[lambda: episode_summarize(episode_id=episode.pk)] * 4)

    assert raised(results) == []

    assert sum(r is not None for r in results) == 1
    assert Summary.objects.filter(episode=episode).count() == 1
    episode.refresh_from_db()
    assert episode.pipeline_status == Episode.PipelineStatus.SUMMARIZED


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_overshoot_the_daily_budget(settings):
    from summaries.generation import DailyBudget
    from summaries.llm import BudgetExceeded
    from summaries.models import LLMUsage

    settings.LLM_DAILY_TOKEN_BUDGET = 10_000
    granted = []

    def reserve():
        for _ in range(5):
            try:
                granted.append(DailyBudget().reserve(1_000))
            except BudgetExceeded:
                pass

    assert raised(run_at_once(*[reserve] * 6)) == []

    assert len(granted) == 10
    assert LLMUsage.objects.get().reserved_tokens == 10_000
