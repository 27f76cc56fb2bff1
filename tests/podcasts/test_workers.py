"""Real RQ workers (subprocesses of `manage.py rqworker`) on real Redis and the test database."""

import json
import os
import signal
import subprocess

import django_rq
import pytest
from django.core.management import call_command
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from config.queues import enqueue
from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_enqueue
from podcasts.stages import stage_from_ready
from tests.factories import make_episode
from tests.support.httpserver import Route
from tests.support.pipeline import FIXTURES, copy_audio, queue_jobs
from tests.support.workers import ROOT, run_worker, start_worker, wait_for, worker_command, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

Status = Episode.PipelineStatus


def failed_jobs(queue_name: str) -> list[str]:
    queue = django_rq.get_queue(queue_name)
    return FailedJobRegistry(queue=queue).get_job_ids()


def test_workers_take_new_episodes_to_transcripts_loading_the_model_once(
    http_server, media_root, podcast, jfk_bytes, redis_queues
):
    http_server.routes["/a.flac"] = Route(jfk_bytes, headers={"Content-Type": "audio/flac"})
    http_server.routes["/b.flac"] = Route(jfk_bytes, headers={"Content-Type": "audio/flac"})
    episodes = [make_episode(podcast, enclosure_url=http_server.url(path)) for path in ("/a.flac", "/b.flac")]
    for episode in episodes:
        episode_enqueue(episode_id=episode.pk)  # autocommit: handed over at once

    run_worker(redis_queues, "downloads")
    assert set(Episode.objects.values_list("pipeline_status", flat=True)) == {Status.DOWNLOADED}
    assert len(queue_jobs("transcription")) == 2

    result = subprocess.run(
        worker_command("transcription", whisper=True), cwd=ROOT, env=worker_env(redis_queues), capture_output=True, timeout=240
    )

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    log = result.stderr.decode() + result.stdout.decode()
    loads = [line for line in log.splitlines() if '"event": "whisper_model_loaded"' in line]
    assert len(loads) == 1  # one load, two jobs
    for episode in episodes:
        episode.refresh_from_db()
        assert episode.pipeline_status == Status.TRANSCRIBED
        assert "ask not what your country can do for you" in episode.transcript.text.lower()
    assert failed_jobs("downloads") == [] and failed_jobs("transcription") == []
    if stage_from_ready(Status.TRANSCRIBED) is not None:
        assert {args[0] for _, args in queue_jobs("summaries")} == {e.pk for e in episodes}


def test_sigkill_mid_transcription_then_sweep_completes_with_one_transcript(media_root, podcast, redis_queues, tmp_path):
    episode = make_episode(
        podcast,
        pipeline_status=Status.DOWNLOADED,
        audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac"),
        audio_duration=11.0,
    )
    episode_enqueue(episode_id=episode.pk)
    worker = start_worker(redis_queues, "transcription", whisper=True, burst=False, log=tmp_path / "worker.log")
    try:
        wait_for(
            lambda: Episode.objects.filter(pk=episode.pk, pipeline_status=Status.TRANSCRIBING).exists(),
            timeout=120,
            what="the worker to claim the episode",
        )
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()

    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.TRANSCRIBING
    assert not Transcript.objects.exists()

    call_command("sweep", "--stuck-after", "0", "--json")
    episode.refresh_from_db()
    assert (episode.pipeline_status, episode.attempts) == (Status.DOWNLOADED, 1)
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [episode.pk])]

    run_worker(redis_queues, "transcription", whisper=True)

    episode.refresh_from_db()
    assert episode.pipeline_status == Status.TRANSCRIBED
    assert Transcript.objects.filter(episode=episode).count() == 1
    assert Transcript.objects.count() == 1
    assert (episode.attempts, episode.last_error) == (0, "")


@pytest.mark.postgres_only
def test_a_duplicated_job_raced_by_two_whisper_workers_makes_one_transcript(media_root, podcast, redis_queues):
    episode = make_episode(
        podcast,
        pipeline_status=Status.DOWNLOADED,
        audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac"),
        audio_duration=11.0,
    )
    assert enqueue("transcription", "podcasts.tasks.transcribe_episode", episode.pk)
    assert enqueue("transcription", "podcasts.tasks.transcribe_episode", episode.pk)  # at-least-once: the same job twice

    workers = [start_worker(redis_queues, "transcription", whisper=True) for _ in range(2)]
    codes = [worker.wait(timeout=240) for worker in workers]

    assert codes == [0, 0]
    assert Transcript.objects.filter(episode=episode).count() == 1
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.TRANSCRIBED
    queue = django_rq.get_queue("transcription")
    assert failed_jobs("transcription") == []
    assert len(FinishedJobRegistry(queue=queue).get_job_ids()) == 2
    results = sorted(
        json.dumps(job.return_value())
        for job in queue.job_class.fetch_many(
            FinishedJobRegistry(queue=queue).get_job_ids(), connection=queue.connection, serializer=queue.serializer
        )
    )
    assert results == ['"transcribed"', "null"]


@pytest.mark.django_db(transaction=False)
def test_procfile_runs_web_light_workers_whisper_and_scheduler():
    from tests.support.workers import procfile_command

    assert procfile_command("worker")[2:] == [
        "rqworker",
        "feeds",
        "downloads",
        "summaries",
        "deliveries",
        "default",
        "--serializer",
        "rq.serializers.JSONSerializer",
    ]
    whisper = procfile_command("whisper")
    assert whisper[2:4] == ["rqworker", "transcription"]
    assert whisper[whisper.index("--worker-class") + 1] == "podcasts.worker.WhisperWorker"
    assert procfile_command("scheduler")[2:] == ["scheduler"]
