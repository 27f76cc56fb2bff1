"""Scaling out: several real worker processes share one queue and make no duplicate work.

Three whisper workers race on `transcription` and three light workers on
`summaries`; every job is delivered twice (RQ is at-least-once), so workers
really do meet on the same episode. Duplicates are stopped by the database.
"""

import os
import signal

import django_rq
import pytest
from django.db.models import Count
from rq.registry import FailedJobRegistry, StartedJobRegistry

from config.queues import enqueue
from podcasts.models import Episode, Transcript
from summaries.models import Summary
from tests.factories import make_episode
from tests.support.pipeline import DEMO_AUDIO, copy_audio
from tests.support.workers import start_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

Status = Episode.PipelineStatus
EPISODES = 12


def queue_idle(name: str) -> bool:
    queue = django_rq.get_queue(name)
    return queue.count == 0 and StartedJobRegistry(queue=queue).count == 0


def test_three_workers_per_queue_process_12_episodes_with_no_duplicate_transcript_or_summary(
    media_root, podcast, redis_queues, tmp_path
):
    episodes = [
        make_episode(
            podcast,
            pipeline_status=Status.DOWNLOADED,
            audio_path=copy_audio(DEMO_AUDIO / f"episode-{n % 3 + 1}.mp3", media_root, f"audio/{n}/episode.mp3"),
            audio_duration=15.0,
        )
        for n in range(EPISODES)
    ]
    logs = {kind: [tmp_path / f"{kind}-{n}.log" for n in range(3)] for kind in ("whisper", "summaries")}
    workers = [start_worker(redis_queues, "transcription", whisper=True, burst=False, log=log) for log in logs["whisper"]]
    workers += [start_worker(redis_queues, "summaries", burst=False, log=log) for log in logs["summaries"]]
    try:
        wait_for(
            lambda: all("Listening on" in log.read_text(errors="replace") for log in logs["whisper"] + logs["summaries"]),
            timeout=120,
            interval=0.2,
            what="six workers listening",
        )
        for episode in episodes * 2:  # every job twice: at-least-once delivery
            assert enqueue("transcription", "podcasts.tasks.transcribe_episode", episode.pk)
        wait_for(
            lambda: Episode.objects.filter(pipeline_status=Status.SUMMARIZED).count() == EPISODES,
            timeout=180,
            interval=0.5,
            what="12 summarized episodes",
        )
        for episode in episodes:  # a late duplicate of every summary job
            assert enqueue("summaries", "summaries.tasks.summarize_episode", episode.pk)
        wait_for(lambda: queue_idle("transcription") and queue_idle("summaries"), timeout=120, what="idle queues")
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGTERM)
        codes = [worker.wait(timeout=60) for worker in workers]

    assert codes == [0] * 6
    per_episode_transcripts = Transcript.objects.values("episode").annotate(n=Count("id"))
    per_episode_summaries = Summary.objects.values("episode").annotate(n=Count("id"))
    assert sorted(row["n"] for row in per_episode_transcripts) == [1] * EPISODES
    assert sorted(row["n"] for row in per_episode_summaries) == [1] * EPISODES
    for name in ("transcription", "summaries"):
        assert FailedJobRegistry(queue=django_rq.get_queue(name)).count == 0
    jobs_done = [log.read_text(errors="replace").count("Job OK") for log in logs["whisper"]]
    assert sum(jobs_done) == 2 * EPISODES
    assert all(done >= 1 for done in jobs_done), jobs_done  # all three whisper workers took work
