"""The download stage against a loopback server: faults injected, no whisper (next stage captured)."""

import hashlib
import os

import pytest

from curation.models import CurationItem
from podcasts.download import audio_paths, episode_download
from podcasts.models import Episode, Transcript
from tests.factories import make_episode
from tests.support.httpserver import Route
from tests.support.pipeline import queue_jobs

pytestmark = pytest.mark.django_db

Status = Episode.PipelineStatus


def range_route(body: bytes, *, honour_range: bool = True):
    """Serve `body`, answering `Range: bytes=N-` with 206 when `honour_range`."""

    def handler(request):
        wanted = request.headers.get("Range", "")
        start = int(wanted[len("bytes=") : -1]) if honour_range and wanted.startswith("bytes=") else 0
        chunk = body[start:]
        request.send_response(206 if start else 200)
        request.send_header("Content-Type", "audio/mpeg")
        request.send_header("Content-Length", str(len(chunk)))
        if start:
            request.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(chunk)
        request.close_connection = True

    return handler


def broken_route(body: bytes, *, cut_at: int):
    """Promise the whole body, send `cut_at` bytes, then drop the connection."""

    def handler(request):
        request.send_response(200)
        request.send_header("Content-Type", "audio/mpeg")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body[:cut_at])
        request.wfile.flush()
        request.close_connection = True

    return handler


def test_audio_is_streamed_hashed_probed_and_handed_to_transcription(
    http_server, media_root, podcast, demo_mp3, redis_queues, django_capture_on_commit_callbacks
):
    http_server.routes["/ep1.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    with django_capture_on_commit_callbacks(execute=True):
        status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.DOWNLOADED
    assert episode.pipeline_status == Status.DOWNLOADED
    assert episode.audio_sha256 == hashlib.sha256(demo_mp3).hexdigest()
    assert episode.audio_bytes == len(demo_mp3)
    assert episode.audio_duration == pytest.approx(36.2, abs=0.3)
    assert (media_root / episode.audio_path).read_bytes() == demo_mp3
    assert episode.enqueued_at is not None
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [episode.pk])]
    assert not audio_paths(episode)[0].exists()


def test_a_duplicate_or_late_download_job_is_a_no_op(
    http_server, media_root, podcast, demo_mp3, redis_queues, django_capture_on_commit_callbacks
):
    http_server.routes["/ep1.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    with django_capture_on_commit_callbacks(execute=True):
        first = episode_download(episode_id=episode.pk)
        second = episode_download(episode_id=episode.pk)

    assert (first, second) == (Status.DOWNLOADED, None)
    assert len([r for r in http_server.requests if r.path == "/ep1.mp3"]) == 1
    assert len(queue_jobs("transcription")) == 1


def test_a_broken_transfer_keeps_the_partial_file_and_the_retry_resumes_with_range(
    http_server, media_root, podcast, demo_mp3, django_capture_on_commit_callbacks
):
    http_server.routes["/ep1.mp3"] = broken_route(demo_mp3, cut_at=40_000)
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    partial = audio_paths(episode)[0]
    assert status == Status.NEW
    assert episode.attempts == 1
    assert episode.retry_after is not None
    assert "Audio download failed" in episode.last_error
    assert partial.stat().st_size == 40_000

    http_server.routes["/ep1.mp3"] = range_route(demo_mp3)
    with django_capture_on_commit_callbacks(execute=False):
        status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.DOWNLOADED
    assert http_server.requests[-1].headers["range"] == "bytes=40000-"
    assert episode.audio_sha256 == hashlib.sha256(demo_mp3).hexdigest()
    assert (media_root / episode.audio_path).read_bytes() == demo_mp3
    assert not partial.exists()


def test_a_server_ignoring_range_sends_the_whole_file_again(
    http_server, media_root, podcast, demo_mp3, django_capture_on_commit_callbacks
):
    http_server.routes["/ep1.mp3"] = range_route(demo_mp3, honour_range=False)
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))
    partial = audio_paths(episode)[0]
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"stale bytes that must not end up in the file")

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.DOWNLOADED
    assert http_server.requests[-1].headers["range"].startswith("bytes=")
    assert (media_root / episode.audio_path).read_bytes() == demo_mp3
    assert episode.audio_sha256 == hashlib.sha256(demo_mp3).hexdigest()


def test_404_fails_at_once_with_a_p0_item_and_no_file(http_server, media_root, podcast):
    episode = make_episode(podcast, enclosure_url=http_server.url("/gone.mp3"))

    status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.FAILED
    assert episode.last_error.startswith("Audio download failed: HTTP 404")
    assert "not retrying" in episode.last_error
    item = CurationItem.objects.get(flag_class="job_failed")
    assert (item.severity, item.object_id, item.evidence["stage"]) == ("P0", str(episode.pk), "downloading")
    assert not any(p.is_file() for p in media_root.rglob("*"))


def test_a_5xx_is_retried_with_backoff_then_fails_after_max_attempts(http_server, media_root, podcast, settings):
    settings.MAX_ATTEMPTS = 2
    http_server.routes["/ep1.mp3"] = Route(b"busy", 503)
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    first = episode_download(episode_id=episode.pk)
    episode.refresh_from_db()
    assert (first, episode.attempts, episode.retry_after is not None) == (Status.NEW, 1, True)
    assert "HTTP 503" in episode.last_error and "retrying" in episode.last_error
    assert not CurationItem.objects.exists()

    second = episode_download(episode_id=episode.pk)
    episode.refresh_from_db()
    assert (second, episode.attempts) == (Status.FAILED, 2)
    assert CurationItem.objects.filter(flag_class="job_failed", severity="P0").count() == 1


@pytest.mark.parametrize(
    ("body", "expected_error"),
    [
        (b"<!DOCTYPE html><html><head><title>Not found</title></head><body>Oops</body></html>" * 20, "Not audio: it is an HTML"),
        (os.urandom(64_000), "Not audio"),
        (b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(30_000), "Not audio"),
    ],
    ids=["html-as-audio", "random-bytes", "fake-id3-header"],
)
def test_what_is_not_audio_fails_permanently_with_a_clear_error(http_server, media_root, podcast, body, expected_error):
    http_server.routes["/ep1.mp3"] = Route(body, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.FAILED
    assert episode.last_error.startswith(expected_error)
    assert episode.attempts == 1
    assert not any(p.is_file() for p in media_root.rglob("*"))


def test_truncated_audio_is_refused(http_server, media_root, podcast, demo_mp3):
    http_server.routes["/ep1.mp3"] = Route(demo_mp3[:300], headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.FAILED
    assert episode.last_error.startswith("Not audio")


def test_audio_over_the_byte_cap_is_skipped_and_removed(http_server, media_root, podcast, demo_mp3, settings):
    settings.AUDIO_MAX_BYTES = 50_000
    # The server lies about the length: the cap counts bytes received.
    http_server.routes["/ep1.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.SKIPPED
    assert "AUDIO_MAX_BYTES" in episode.last_error
    assert not CurationItem.objects.exists()
    assert not any(p.is_file() for p in media_root.rglob("*"))


def test_audio_over_the_duration_cap_is_skipped_before_decoding(http_server, media_root, podcast, demo_mp3, settings):
    settings.AUDIO_MAX_SECONDS = 30
    http_server.routes["/ep1.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, enclosure_url=http_server.url("/ep1.mp3"))

    status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.SKIPPED
    assert episode.last_error == "Audio is 36 s long, over the AUDIO_MAX_SECONDS cap of 30 s."
    assert not any(p.is_file() for p in media_root.rglob("*"))


def test_same_audio_as_a_transcribed_episode_reuses_its_transcript_and_flags_it(
    http_server, media_root, podcast, demo_mp3, django_capture_on_commit_callbacks
):
    original = make_episode(
        podcast, title="The original", pipeline_status=Status.SUMMARIZED, audio_sha256=hashlib.sha256(demo_mp3).hexdigest()
    )
    Transcript.objects.create(
        episode=original,
        source="whisper",
        language="en",
        duration=36.2,
        model="tiny.en",
        segments=[
            {"start": 0.0, "end": 3.0, "text": "Welcome back to Field Notes.", "avg_logprob": -0.2, "no_speech_prob": 0.01}
        ],
        text="Welcome back to Field Notes.",
    )
    http_server.routes["/rerun.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(podcast, title="A rerun", enclosure_url=http_server.url("/rerun.mp3"))

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.TRANSCRIBED
    assert episode.transcript.source == "reused"
    assert episode.transcript.text == "Welcome back to Field Notes."
    assert episode.audio_sha256 == original.audio_sha256
    item = CurationItem.objects.get(flag_class="duplicate_audio")
    assert item.object_id == str(episode.pk)
    assert item.evidence["same_as_episode_id"] == original.pk
    assert Transcript.objects.count() == 2


VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nWelcome back to Field Notes.\n\n00:00:03.000 --> 00:00:06.500\nToday: urban bees.\n"


def test_a_publisher_transcript_skips_download_and_whisper(http_server, media_root, podcast, django_capture_on_commit_callbacks):
    http_server.routes["/t.vtt"] = Route(VTT, headers={"Content-Type": "text/vtt"})
    episode = make_episode(
        podcast,
        enclosure_url=http_server.url("/ep1.mp3"),
        transcript_links=[
            {"url": http_server.url("/t.vtt"), "type": "text/vtt"},
            {"url": http_server.url("/t.html"), "type": "text/html"},
        ],
    )

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.TRANSCRIBED
    transcript = episode.transcript
    assert (transcript.source, transcript.model, transcript.duration) == ("publisher", "publisher:vtt", 6.5)
    assert transcript.text == "Welcome back to Field Notes. Today: urban bees."
    assert [r.path for r in http_server.requests] == ["/t.vtt"]


@pytest.mark.parametrize(
    ("route", "declared"),
    [
        (Route(b"<!DOCTYPE html><html><body>Please log in</body></html>", headers={"Content-Type": "text/html"}), "text/vtt"),
        (Route(b"<html><body>Transcript</body></html>", headers={"Content-Type": "application/json"}), "application/json"),
        (Route(b'{"version": "1.0.0", "segments": [{"startTime": 0, "body": "cut'), "application/json"),
        (Route(b"gone", 404), "text/vtt"),
    ],
    ids=["html-page", "html-as-json", "malformed-json", "404"],
)
def test_an_unusable_publisher_transcript_falls_back_to_the_audio(
    http_server, media_root, podcast, demo_mp3, route, declared, django_capture_on_commit_callbacks
):
    http_server.routes["/t"] = route
    http_server.routes["/ep1.mp3"] = Route(demo_mp3, headers={"Content-Type": "audio/mpeg"})
    episode = make_episode(
        podcast, enclosure_url=http_server.url("/ep1.mp3"), transcript_url=http_server.url("/t"), transcript_type=declared
    )

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_download(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.DOWNLOADED
    assert not Transcript.objects.exists()
    assert [r.path for r in http_server.requests] == ["/t", "/ep1.mp3"]


def test_a_local_file_is_imported_like_a_download(media_root, podcast, demo_mp3, tmp_path, django_capture_on_commit_callbacks):
    from podcasts.download import episode_audio_import

    source = tmp_path / "episode-1.mp3"
    source.write_bytes(demo_mp3)
    episode = make_episode(podcast)

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_audio_import(episode_id=episode.pk, source=source)
        again = episode_audio_import(episode_id=episode.pk, source=source)

    episode.refresh_from_db()
    assert (status, again) == (Status.DOWNLOADED, None)
    assert episode.audio_sha256 == hashlib.sha256(demo_mp3).hexdigest()
    assert (media_root / episode.audio_path).read_bytes() == demo_mp3
    assert episode.audio_path.endswith(".mp3")


def test_a_local_file_that_is_not_audio_fails(media_root, podcast, tmp_path):
    from podcasts.download import episode_audio_import

    source = tmp_path / "notes.mp3"
    source.write_text("just some text, not audio at all")
    episode = make_episode(podcast)

    assert episode_audio_import(episode_id=episode.pk, source=source) == Status.FAILED
    assert Episode.objects.get(pk=episode.pk).last_error.startswith("Not audio")
