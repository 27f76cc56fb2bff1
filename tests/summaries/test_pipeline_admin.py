"""/admin/pipeline/: curators see the pipeline and steer it; each move is one CuratorAction;
cancel stops queued and running work and the sweeper leaves it alone."""

import os
import signal
import subprocess
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from curation.models import CuratorAction
from curation.services import curators_group_ensure
from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_enqueue, pipeline_sweep
from summaries.models import Delivery
from tests.factories import SEGMENTS, make_episode, make_summary
from tests.support.pipeline import FIXTURES, queue_jobs
from tests.support.workers import run_worker, start_worker, wait_for

Status = Episode.PipelineStatus


@pytest.fixture
def curator(django_user_model):
    user = django_user_model.objects.create_user("cura", password="x", is_staff=True)
    curators_group_ensure()
    user.groups.add(Group.objects.get(name="Curators"))
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _transcript(episode) -> None:
    Transcript.objects.create(episode=episode, source="whisper", segments=SEGMENTS, text=" ".join(s["text"] for s in SEGMENTS))


def _steer(client, episode, action):
    return client.post(f"/admin/pipeline/episodes/{episode.pk}/{action}/")


@pytest.mark.django_db
def test_curators_see_counts_running_failed_and_waiting(curator, podcast):
    make_episode(podcast, pipeline_status=Status.TRANSCRIBING, progress=0.25, audio_duration=600.0, title="Running one")
    make_episode(podcast, pipeline_status=Status.FAILED, last_error="HTTP 404 from the audio host", title="Broken one")
    make_episode(podcast, pipeline_status=Status.NEW, title="Queued one")

    page = _client(curator).get("/admin/pipeline/")

    assert page.status_code == HTTPStatus.OK
    body = page.content.decode()
    assert 'data-testid="pipeline-running"' in body and "Transcribing 2:30 of 10:00" in body
    assert "Failed: HTTP 404 from the audio host" in body
    assert 'data-testid="pipeline-waiting"' in body and "Queued one" in body
    assert '<td data-stage="failed">1</td>' in body


@pytest.mark.django_db
def test_plain_staff_and_readers_cannot_open_or_steer_the_pipeline(django_user_model, podcast):
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    reader = django_user_model.objects.create_user("reader", password="x")
    failed = make_episode(podcast, pipeline_status=Status.FAILED)

    assert _client(staff).get("/admin/pipeline/").status_code == HTTPStatus.FORBIDDEN
    assert _steer(_client(staff), failed, "retry").status_code == HTTPStatus.FORBIDDEN
    assert _client(reader).get("/admin/pipeline/").status_code == HTTPStatus.FOUND  # to the admin login
    assert Client().get("/admin/pipeline/").status_code == HTTPStatus.FOUND
    assert Episode.objects.get(pk=failed.pk).pipeline_status == Status.FAILED
    assert not CuratorAction.objects.exists()


@pytest.mark.django_db
def test_the_rq_dashboard_stays_superuser_only_for_curators(curator):
    assert _client(curator).get("/admin/rq/").status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_retry_through_the_admin_writes_one_curator_action(curator, redis_queues, django_capture_on_commit_callbacks, podcast):
    failed = make_episode(podcast, pipeline_status=Status.FAILED, last_error="boom", attempts=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = _steer(_client(curator), failed, "retry")

    assert response.status_code == HTTPStatus.SEE_OTHER
    failed.refresh_from_db()
    assert (failed.pipeline_status, failed.attempts) == (Status.NEW, 0)
    action = CuratorAction.objects.get()
    assert (action.action, action.from_state, action.to_state, action.actor) == ("pipeline_retry", "failed", "new", curator)
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [failed.pk])]


@pytest.mark.django_db
def test_retranscribe_through_the_admin_writes_one_curator_action(curator, redis_queues, podcast):
    episode = make_episode(podcast, pipeline_status=Status.FAILED, last_error="Malformed reply")
    _transcript(episode)

    _steer(_client(curator), episode, "retranscribe")

    episode.refresh_from_db()
    assert episode.pipeline_status == Status.NEW  # no audio on disk: download first
    assert not Transcript.objects.filter(episode=episode).exists()
    assert list(CuratorAction.objects.values_list("action", "from_state", "to_state")) == [
        ("pipeline_retranscribe", "failed", "new")
    ]


@pytest.mark.django_db
def test_resummarize_through_the_admin_writes_one_curator_action(
    curator, redis_queues, django_capture_on_commit_callbacks, podcast
):
    failed = make_episode(podcast, pipeline_status=Status.FAILED, last_error="Malformed reply")
    _transcript(failed)
    summarized = make_episode(podcast, pipeline_status=Status.SUMMARIZED)
    _transcript(summarized)
    make_summary(summarized)
    client = _client(curator)

    with django_capture_on_commit_callbacks(execute=True):
        _steer(client, failed, "resummarize")
        _steer(client, summarized, "resummarize")

    failed.refresh_from_db()
    assert failed.pipeline_status == Status.TRANSCRIBED
    assert queue_jobs("summaries") == [("summaries.tasks.summarize_episode", [failed.pk])]
    assert Delivery.objects.filter(episode=summarized, kind=Delivery.Kind.REGENERATION).count() == 1
    assert list(CuratorAction.objects.order_by("pk").values_list("action", "object_id")) == [
        ("pipeline_resummarize", str(failed.pk)),
        ("pipeline_resummarize", str(summarized.pk)),
    ]


@pytest.mark.django_db
def test_a_refused_move_writes_nothing_and_says_why(curator, podcast):
    summarized = make_episode(podcast, pipeline_status=Status.SUMMARIZED)

    response = _client(curator).post(f"/admin/pipeline/episodes/{summarized.pk}/cancel/", follow=True)

    assert "has no queued or running work to cancel" in response.content.decode()
    assert not CuratorAction.objects.exists()
    assert Episode.objects.get(pk=summarized.pk).pipeline_status == Status.SUMMARIZED


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_queued_episode_and_the_sweeper_leaves_it_alone(curator, redis_queues, media_root, podcast):
    queued = make_episode(podcast, pipeline_status=Status.NEW, enclosure_url="http://127.0.0.1:9/never.mp3")
    episode_enqueue(episode_id=queued.pk)
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [queued.pk])]

    _steer(_client(curator), queued, "cancel")
    run_worker(redis_queues, "downloads")  # the job still in Redis runs: its claim fails, a no-op
    report = pipeline_sweep(stuck_after=0)
    pipeline_sweep(stuck_after=0)

    queued.refresh_from_db()
    assert queued.pipeline_status == Status.CANCELLED
    assert queued.attempts == 0 and queued.enqueued_at is None
    assert queued.pk not in report["enqueued"] and queue_jobs("downloads") == []
    assert list(CuratorAction.objects.values_list("action", "from_state", "to_state")) == [
        ("pipeline_cancel", "new", "cancelled")
    ]

    _steer(_client(curator), queued, "retry")

    queued.refresh_from_db()
    assert queued.pipeline_status == Status.NEW
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [queued.pk])]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_whisper_job_at_its_next_window(curator, redis_queues, media_root, monkeypatch, tmp_path, podcast):
    monkeypatch.setenv("WHISPER_WINDOW_SECONDS", "9")
    monkeypatch.setenv("WHISPER_PROGRESS_SECONDS", "0")
    clip = media_root / "audio/1/jfk16.wav"
    clip.parent.mkdir(parents=True)
    subprocess.run(["sox", *[str(FIXTURES / "jfk.flac")] * 16, "-r", "16000", "-c", "1", str(clip)], check=True)
    episode = make_episode(podcast, pipeline_status=Status.DOWNLOADED, audio_path="audio/1/jfk16.wav", audio_duration=176.0)
    episode_enqueue(episode_id=episode.pk)
    log = tmp_path / "worker.log"

    worker = start_worker(redis_queues, "transcription", whisper=True, burst=False, log=log)
    try:
        seen = wait_for(
            lambda: (
                Episode.objects.filter(pk=episode.pk, progress__gt=0, progress__lt=0.8).values_list("progress", flat=True).first()
            ),
            timeout=240,
            what="progress written by the worker while it transcribes",
        )
        _steer(_client(curator), episode, "cancel")
        wait_for(lambda: "transcribe_cancelled" in log.read_text(), timeout=120, what="the worker stopping the job")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()

    episode.refresh_from_db()
    assert 0 < seen < 0.8
    assert episode.pipeline_status == Status.CANCELLED
    assert episode.progress is None  # the worker wrote nothing after the cancel
    assert not Transcript.objects.filter(episode=episode).exists()
    pipeline_sweep(stuck_after=0)
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.CANCELLED
    assert queue_jobs("transcription") == []
    assert CuratorAction.objects.get().to_state == "cancelled"


@pytest.mark.django_db
def test_the_admin_index_links_the_pipeline_page_for_curators_only(curator, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)

    assert 'href="/admin/pipeline/"' in _client(curator).get("/admin/").content.decode()
    assert 'href="/admin/pipeline/"' not in _client(staff).get("/admin/").content.decode()
