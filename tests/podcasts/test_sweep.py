"""The sweeper: stuck rows, exhausted rows, rows Redis never got; idempotent."""

import json
import socket
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode
from podcasts.pipeline import episode_enqueue, pipeline_sweep
from tests.factories import make_episode
from tests.support.pipeline import queue_jobs

pytestmark = pytest.mark.django_db

Status = Episode.PipelineStatus


def snapshot():
    return list(
        Episode.objects.order_by("pk").values_list(
            "pk", "pipeline_status", "attempts", "last_error", "enqueued_at", "retry_after", "status_changed_at"
        )
    )


def age(episode: Episode, **delta) -> None:
    Episode.objects.filter(pk=episode.pk).update(status_changed_at=timezone.now() - timedelta(**delta))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_down_at_enqueue_loses_nothing_and_a_later_sweep_enqueues_once(
    podcast, settings, redis_queues, django_capture_on_commit_callbacks
):
    episode = make_episode(podcast)
    good_queues = settings.RQ_QUEUES
    down = f"redis://127.0.0.1:{closed_port()}/0"
    settings.RQ_QUEUES = {name: {**conf, "URL": down} for name, conf in good_queues.items()}

    with django_capture_on_commit_callbacks(execute=True):
        episode_enqueue(episode_id=episode.pk)

    episode.refresh_from_db()
    assert (episode.pipeline_status, episode.enqueued_at) == (Status.NEW, None)

    settings.RQ_QUEUES = good_queues  # Redis is back
    with django_capture_on_commit_callbacks(execute=True):
        first = pipeline_sweep()
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        second = pipeline_sweep()

    assert first["enqueued"] == [episode.pk]
    assert second == {"stuck": [], "failed": [], "enqueued": [], "enqueue_failed": []}
    assert snapshot() == before
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [episode.pk])]


def test_a_sweep_while_redis_is_down_reports_it_and_keeps_the_row_for_the_next(
    podcast, settings, redis_queues, django_capture_on_commit_callbacks
):
    episode = make_episode(podcast)
    settings.RQ_QUEUES = {
        name: {**conf, "URL": f"redis://127.0.0.1:{closed_port()}/0"} for name, conf in settings.RQ_QUEUES.items()
    }

    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline_sweep()

    assert report["enqueue_failed"] == [episode.pk]
    assert Episode.objects.get(pk=episode.pk).enqueued_at is None


def test_a_row_stuck_in_a_working_state_goes_back_and_is_enqueued_once(
    podcast, redis_queues, django_capture_on_commit_callbacks, settings
):
    settings.PIPELINE_STUCK_SECONDS = 600
    stuck = make_episode(podcast, pipeline_status=Status.DOWNLOADING)
    fresh = make_episode(podcast, pipeline_status=Status.DOWNLOADING)
    age(stuck, minutes=11)
    age(fresh, minutes=9)

    with django_capture_on_commit_callbacks(execute=True):
        first = pipeline_sweep()
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        second = pipeline_sweep()

    stuck.refresh_from_db()
    assert first["stuck"] == [stuck.pk] and first["enqueued"] == [stuck.pk]
    assert (stuck.pipeline_status, stuck.attempts, stuck.retry_after) == (Status.NEW, 1, None)
    assert stuck.last_error == "Stuck in downloading for over 600 s (worker lost?); retrying."
    assert Episode.objects.get(pk=fresh.pk).pipeline_status == Status.DOWNLOADING
    assert second == {"stuck": [], "failed": [], "enqueued": [], "enqueue_failed": []}
    assert snapshot() == before
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [stuck.pk])]


def test_a_long_transcription_is_not_stuck_before_its_job_timeout(
    podcast, settings, redis_queues, django_capture_on_commit_callbacks
):
    settings.PIPELINE_STUCK_SECONDS = 600
    three_hours = make_episode(podcast, pipeline_status=Status.TRANSCRIBING, audio_duration=3 * 3600)
    age(three_hours, minutes=60)

    with django_capture_on_commit_callbacks(execute=False):
        default = pipeline_sweep()
        assert default["stuck"] == []
        explicit = pipeline_sweep(stuck_after=1800)

    assert explicit["stuck"] == [three_hours.pk]
    assert Episode.objects.get(pk=three_hours.pk).pipeline_status == Status.DOWNLOADED


def test_a_stuck_row_on_its_last_attempt_fails_with_a_p0_item(podcast, settings, django_capture_on_commit_callbacks):
    settings.MAX_ATTEMPTS = 3
    episode = make_episode(podcast, pipeline_status=Status.TRANSCRIBING, attempts=2)
    age(episode, hours=2)

    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline_sweep(stuck_after=60)
        again = pipeline_sweep(stuck_after=60)

    episode.refresh_from_db()
    assert report["failed"] == [episode.pk]
    assert (episode.pipeline_status, episode.attempts) == (Status.FAILED, 3)
    item = CurationItem.objects.get(flag_class="job_failed")
    assert (item.severity, item.evidence["stage"], item.occurrences) == ("P0", "transcribing", 1)
    assert again == {"stuck": [], "failed": [], "enqueued": [], "enqueue_failed": []}


def test_ready_rows_with_attempts_used_up_are_failed(podcast, settings, django_capture_on_commit_callbacks):
    settings.MAX_ATTEMPTS = 2
    episode = make_episode(podcast, pipeline_status=Status.DOWNLOADED, attempts=2, last_error="HTTP 503")

    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline_sweep()

    assert report["failed"] == [episode.pk] and report["enqueued"] == []
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.FAILED
    assert CurationItem.objects.get(flag_class="job_failed").evidence["error"] == "HTTP 503"


def test_backoff_is_honoured_and_lost_jobs_are_requeued(podcast, settings, redis_queues, django_capture_on_commit_callbacks):
    settings.PIPELINE_LOST_JOB_SECONDS = 3600
    now = timezone.now()
    waiting = make_episode(podcast, attempts=1, retry_after=now + timedelta(minutes=5))
    due = make_episode(podcast, attempts=1, retry_after=now - timedelta(seconds=1))
    queued = make_episode(podcast, enqueued_at=now - timedelta(minutes=30))
    lost = make_episode(podcast, enqueued_at=now - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline_sweep()

    assert sorted(report["enqueued"]) == sorted([due.pk, lost.pk])
    assert {args[0] for _, args in queue_jobs("downloads")} == {due.pk, lost.pk}
    assert Episode.objects.get(pk=waiting.pk).enqueued_at is None
    assert Episode.objects.get(pk=queued.pk).enqueued_at == now - timedelta(minutes=30)


def test_transcribed_rows_wait_for_a_summarizer(podcast, redis_queues, django_capture_on_commit_callbacks):
    from podcasts.stages import stage_from_ready

    episode = make_episode(podcast, pipeline_status=Status.TRANSCRIBED)

    with django_capture_on_commit_callbacks(execute=False):
        report = pipeline_sweep()

    assert (episode.pk in report["enqueued"]) == (stage_from_ready(Status.TRANSCRIBED) is not None)


def test_sweep_command_prints_one_json_object_and_refuses_bad_input(
    podcast, redis_queues, capsys, django_capture_on_commit_callbacks
):
    episode = make_episode(podcast)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep", "--json")

    assert json.loads(capsys.readouterr().out) == {
        "stuck": [],
        "failed": [],
        "enqueued": [episode.pk],
        "enqueue_failed": [],
        "deliveries": {"reset": 0, "enqueued": 0},
    }
    with pytest.raises(CommandError, match="--stuck-after"):
        call_command("sweep", "--stuck-after", "-1")


def test_scheduler_once_runs_sweep_even_when_another_command_is_missing_or_fails(podcast, redis_queues, caplog):
    episode = make_episode(podcast)

    with caplog.at_level("INFO", logger="castnotes.scheduler"):
        call_command("scheduler", "--once")

    done = {r.command: r for r in caplog.records if getattr(r, "event", "") == "scheduled_command_done"}
    assert done["sweep"].result["enqueued"] == [episode.pk]
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [episode.pk])]
    with pytest.raises(CommandError, match="--interval"):
        call_command("scheduler", "--interval", "-5", "--once")


def test_sweep_command_also_recovers_a_delivery_left_processing_by_a_dead_worker(
    podcast, redis_queues, capsys, django_user_model, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from summaries.models import Delivery

    episode = make_episode(podcast, pipeline_status=Status.SUMMARIZED)
    user = django_user_model.objects.create_user("keen", email="keen@example.com")
    delivery = Delivery.objects.create(
        episode=episode, user=user, kind=Delivery.Kind.NEW_EPISODE, status=Delivery.Status.PROCESSING
    )
    Delivery.objects.filter(pk=delivery.pk).update(status_changed_at=timezone.now() - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep", "--json")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep", "--json")

    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["deliveries"] == {"reset": 1, "enqueued": 1}
    assert second["deliveries"] == {"reset": 0, "enqueued": 0}
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    assert queue_jobs("deliveries") == [("summaries.tasks_deliveries.run_delivery", [delivery.pk])]


def test_a_row_that_breaks_the_sweep_is_reported_and_the_rows_after_it_are_still_swept(podcast, redis_queues, monkeypatch):
    """Issue 17: one bad row must never stop a loop over the others."""
    from podcasts import pipeline
    from tests.factories import make_episode

    first = make_episode(podcast, pipeline_status=Status.NEW)
    second = make_episode(podcast, pipeline_status=Status.NEW)
    real_enqueue = pipeline.episode_enqueue

    def enqueue_breaking_on_first(*, episode_id, on_commit=True):
        if episode_id == first.pk:
            raise RuntimeError("a row the sweeper cannot handle")
        return real_enqueue(episode_id=episode_id, on_commit=on_commit)

    monkeypatch.setattr(pipeline, "episode_enqueue", enqueue_breaking_on_first)

    report = pipeline_sweep()

    assert report["errors"] == [first.pk]
    assert report["enqueued"] == [second.pk]
