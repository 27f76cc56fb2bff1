"""The pipeline driven in this process (`process`, the embedded default) and the state-machine guards."""

import json
import zlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_claim, episode_enqueue, pipeline_process, transcript_store
from podcasts.stages import stage_from_ready
from tests.factories import make_episode
from tests.support.concurrency import raised, run_at_once
from tests.support.httpserver import Route
from tests.support.pipeline import demo_vtt, queue_jobs

Status = Episode.PipelineStatus

VTT = demo_vtt(1)  # long enough for the summaries stage to summarize


@pytest.mark.slow
@pytest.mark.django_db
def test_process_turns_a_feed_into_transcripts_while_bad_episodes_fail_or_skip(
    http_server, media_root, podcast, jfk_bytes, demo_mp3, settings, whisper_model, capsys
):
    settings.AUDIO_MAX_SECONDS = 30
    audio = {"Content-Type": "audio/mpeg"}
    http_server.routes.update(
        {
            "/jfk.flac": Route(jfk_bytes, headers={"Content-Type": "audio/flac"}),
            "/t.vtt": Route(VTT, headers={"Content-Type": "text/vtt"}),
            "/html.mp3": Route(b"<!doctype html><html><body>Sign in</body></html>", headers=audio),
            "/corrupt.mp3": Route(b"\xff\xfb\x90\x00" + bytes(range(256)) * 200, headers=audio),
            "/long.mp3": Route(demo_mp3, headers=audio),
            "/big.mp3": Route(b"\x00" * 2_000_000, headers=audio),
        }
    )
    settings.AUDIO_MAX_BYTES = 1_500_000
    good = make_episode(podcast, title="JFK", enclosure_url=http_server.url("/jfk.flac"))
    published = make_episode(
        podcast,
        title="Published",
        enclosure_url=http_server.url("/x.mp3"),
        transcript_url=http_server.url("/t.vtt"),
        transcript_type="text/vtt",
    )
    missing = make_episode(podcast, title="Missing", enclosure_url=http_server.url("/missing.mp3"))
    html = make_episode(podcast, title="HTML", enclosure_url=http_server.url("/html.mp3"))
    corrupt = make_episode(podcast, title="Corrupt", enclosure_url=http_server.url("/corrupt.mp3"))
    too_long = make_episode(podcast, title="Long", enclosure_url=http_server.url("/long.mp3"))
    too_big = make_episode(podcast, title="Big", enclosure_url=http_server.url("/big.mp3"))

    call_command("process", "--json")

    report = json.loads(capsys.readouterr().out)
    state = {e.pk: e for e in Episode.objects.all()}
    # Transcribed, then skipped by the summaries stage: 11 seconds of speech cannot fill a summary.
    assert state[good.pk].pipeline_status == Status.SKIPPED
    assert state[good.pk].last_error.startswith("Not summarized")
    assert state[good.pk].transcript.source == "whisper"
    assert "ask not what your country can do for you" in state[good.pk].transcript.text.lower()
    assert state[published.pk].transcript.source == "publisher"
    assert state[published.pk].pipeline_status == Status.SUMMARIZED  # process drives the summaries stage too
    assert (state[missing.pk].pipeline_status, state[missing.pk].last_error[:33]) == (
        Status.FAILED,
        "Audio download failed: HTTP 404 f",
    )
    assert state[html.pk].pipeline_status == Status.FAILED and state[html.pk].last_error.startswith("Not audio")
    assert state[corrupt.pk].pipeline_status == Status.FAILED and state[corrupt.pk].last_error.startswith("Not audio")
    assert state[too_long.pk].pipeline_status == Status.SKIPPED and "AUDIO_MAX_SECONDS" in state[too_long.pk].last_error
    assert state[too_big.pk].pipeline_status == Status.SKIPPED and "AUDIO_MAX_BYTES" in state[too_big.pk].last_error
    assert report["processed"] == 7 and report["counts"]["skipped"] == 3
    flagged = set(
        CurationItem.objects.filter(flag_class="job_failed", evidence__stage="downloading").values_list("object_id", flat=True)
    )
    assert flagged == {str(missing.pk), str(html.pk), str(corrupt.pk)}
    assert Transcript.objects.count() == 2

    call_command("process", "--json")  # nothing left to do: a second run changes nothing
    assert json.loads(capsys.readouterr().out)["processed"] == 0
    assert Transcript.objects.count() == 2


@pytest.mark.django_db
def test_process_waits_for_backoff_unless_the_episode_is_named(http_server, media_root, podcast, capsys):
    http_server.routes["/t.vtt"] = Route(VTT, headers={"Content-Type": "text/vtt"})
    later = timezone.now() + timedelta(minutes=5)
    episode = make_episode(
        podcast, transcript_url=http_server.url("/t.vtt"), transcript_type="text/vtt", attempts=1, retry_after=later
    )

    call_command("process", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["processed"], report["waiting"]) == (0, [episode.pk])
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.NEW

    call_command("process", "--episode", str(episode.pk))
    assert f"episode {episode.pk}: " in capsys.readouterr().out
    expected = Status.SUMMARIZED if stage_from_ready(Status.TRANSCRIBED) is not None else Status.TRANSCRIBED
    assert Episode.objects.get(pk=episode.pk).pipeline_status == expected
    assert Transcript.objects.filter(episode=episode, source="publisher").exists()


@pytest.mark.django_db
def test_process_stops_an_episode_after_a_transient_failure_in_the_same_run(http_server, media_root, podcast):
    http_server.routes["/ep.mp3"] = Route(b"busy", 503)
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep.mp3"))

    report = pipeline_process()

    episode.refresh_from_db()
    assert report["episodes"] == [{"id": episode.pk, "status": "new", "attempts": 1, "last_error": episode.last_error}]
    assert len(http_server.requests) == 1
    assert episode.retry_after > timezone.now()


@pytest.mark.django_db
def test_process_limit_and_bad_arguments(http_server, media_root, podcast, capsys):
    http_server.routes["/t.vtt"] = Route(VTT, headers={"Content-Type": "text/vtt"})
    for _ in range(3):
        make_episode(podcast, transcript_url=http_server.url("/t.vtt"), transcript_type="text/vtt")

    call_command("process", "--limit", "2", "--json")
    assert json.loads(capsys.readouterr().out)["processed"] == 2
    assert Episode.objects.filter(pipeline_status=Status.NEW).count() == 1

    with pytest.raises(CommandError, match="No episode with id 999"):
        call_command("process", "--episode", "999")
    with pytest.raises(CommandError, match="--limit"):
        call_command("process", "--limit", "0")


@pytest.mark.django_db
def test_enqueue_hands_only_the_id_to_the_right_queue_as_json(podcast, redis_queues, django_capture_on_commit_callbacks):
    import django_rq

    new = make_episode(podcast)
    downloaded = make_episode(podcast, pipeline_status=Status.DOWNLOADED, audio_duration=3 * 3600)

    with django_capture_on_commit_callbacks(execute=True):
        assert episode_enqueue(episode_id=new.pk)
        assert episode_enqueue(episode_id=downloaded.pk)
        assert not episode_enqueue(episode_id=make_episode(podcast, pipeline_status=Status.FAILED).pk)

    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [new.pk])]
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [downloaded.pk])]
    job = django_rq.get_queue("transcription").get_jobs()[0]
    assert job.timeout >= 3 * 3600  # a 3-hour episode fits its job timeout
    raw = django_rq.get_connection("transcription").hget(job.key, "data")
    assert json.loads(zlib.decompress(raw))[-2:] == [[downloaded.pk], {}]  # JSON serializer: ids only
    assert Episode.objects.get(pk=new.pk).enqueued_at is not None


@pytest.mark.django_db
def test_storing_a_transcript_twice_keeps_one(podcast, django_capture_on_commit_callbacks):
    episode = make_episode(podcast, pipeline_status=Status.TRANSCRIBING)
    segments = [{"start": 0.0, "end": 1.0, "text": "Hi.", "avg_logprob": -0.1, "no_speech_prob": 0.0}]

    with django_capture_on_commit_callbacks(execute=False):
        first = transcript_store(episode_id=episode.pk, from_status=Status.TRANSCRIBING, source="whisper", segments=segments)
        second = transcript_store(episode_id=episode.pk, from_status=Status.TRANSCRIBING, source="whisper", segments=segments)

    assert (first, second) == (True, False)
    assert Transcript.objects.filter(episode=episode).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_racing_claims_on_postgresql_let_exactly_one_job_through(podcast):
    episode = make_episode(podcast, pipeline_status=Status.DOWNLOADED)
    results = run_at_once(
        *[lambda: episode_claim(episode_id=episode.pk, from_status=Status.DOWNLOADED, to_status=Status.TRANSCRIBING)] * 8
    )

    assert raised(results) == []
    assert len([r for r in results if r is not None]) == 1
    assert Episode.objects.get(pk=episode.pk).pipeline_status == Status.TRANSCRIBING
