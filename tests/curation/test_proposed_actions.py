"""The retranscribe and resummarize proposed actions, carried out by the apps that own them."""

import pytest

from curation.models import CuratorAction
from curation.services import curation_item_resolve, enqueue_for_review
from podcasts.models import Episode, Transcript
from summaries.models import Delivery, Summary
from tests.factories import make_summary
from tests.support.pipeline import FIXTURES, copy_audio, queue_jobs

pytestmark = pytest.mark.django_db

Status = Episode.PipelineStatus


def _transcribed(episode, **fields):
    Transcript.objects.create(
        episode=episode, source="whisper", segments=[{"start": 0, "end": 1, "text": "Old words."}], text="Old words."
    )
    Episode.objects.filter(pk=episode.pk).update(**fields)
    episode.refresh_from_db()
    return episode


def test_retranscribe_drops_the_transcript_and_queues_whisper_on_the_audio_kept(
    episode, curator, media_root, redis_queues, django_capture_on_commit_callbacks
):
    audio = copy_audio(FIXTURES / "jfk.flac", media_root, "audio/1/jfk.flac")
    episode = _transcribed(episode, pipeline_status=Status.SUMMARIZED, audio_path=audio)
    item = enqueue_for_review(
        target=episode, flag_class="low_confidence_transcript", severity="P2", proposed_action="retranscribe"
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert curation_item_resolve(item, actor=curator, resolution="misheard throughout")

    episode.refresh_from_db()
    assert episode.pipeline_status == Status.DOWNLOADED
    assert not Transcript.objects.filter(episode=episode).exists()
    assert queue_jobs("transcription") == [("podcasts.tasks.transcribe_episode", [episode.pk])]
    assert CuratorAction.objects.filter(curation_item=item, to_state="resolved").count() == 1


def test_retranscribe_without_audio_downloads_again(episode, curator, redis_queues, django_capture_on_commit_callbacks):
    episode = _transcribed(episode, pipeline_status=Status.FAILED, audio_path="audio/1/gone.mp3")
    item = enqueue_for_review(
        target=episode, flag_class="low_confidence_transcript", severity="P2", proposed_action="retranscribe"
    )

    with django_capture_on_commit_callbacks(execute=True):
        curation_item_resolve(item, actor=curator, resolution="")

    episode.refresh_from_db()
    assert (episode.pipeline_status, episode.audio_path) == (Status.NEW, "")
    assert queue_jobs("downloads") == [("podcasts.tasks.download_episode", [episode.pk])]


def test_retranscribe_is_refused_while_a_stage_works_on_the_episode(episode, curator):
    from curation.services import ProposedActionFailed

    episode = _transcribed(episode, pipeline_status=Status.SUMMARIZING)
    item = enqueue_for_review(
        target=episode, flag_class="low_confidence_transcript", severity="P2", proposed_action="retranscribe"
    )

    with pytest.raises(ProposedActionFailed, match="being worked on"):
        curation_item_resolve(item, actor=curator, resolution="")
    assert Transcript.objects.filter(episode=episode).exists()


def test_resummarize_of_a_summarized_episode_regenerates_delete_last(
    episode, curator, redis_queues, django_capture_on_commit_callbacks
):
    episode = _transcribed(episode, pipeline_status=Status.SUMMARIZED)
    summary = make_summary(episode, editorial_status="published", prompt_version="v2")
    item = enqueue_for_review(target=summary, flag_class="unverified_quote", severity="P2", proposed_action="resummarize")

    with django_capture_on_commit_callbacks(execute=True):
        curation_item_resolve(item, actor=curator, resolution="quotes look wrong")

    delivery = Delivery.objects.get(episode=episode, kind=Delivery.Kind.REGENERATION)
    assert delivery.status == Delivery.Status.PENDING
    assert queue_jobs("deliveries") == [("summaries.tasks_deliveries.run_delivery", [delivery.pk])]
    assert Summary.objects.get(pk=summary.pk).editorial_status == "published"  # stays until the new one is ready

    second = enqueue_for_review(target=episode, flag_class="job_failed", severity="P0", proposed_action="resummarize")
    with django_capture_on_commit_callbacks(execute=True):
        curation_item_resolve(second, actor=curator, resolution="")
    assert Delivery.objects.filter(episode=episode, kind=Delivery.Kind.REGENERATION).count() == 1  # the open one is reused


def test_resummarize_of_a_failed_episode_without_summary_runs_the_stage_again(
    episode, curator, redis_queues, django_capture_on_commit_callbacks
):
    episode = _transcribed(episode, pipeline_status=Status.FAILED, attempts=3)
    item = enqueue_for_review(target=episode, flag_class="job_failed", severity="P0", proposed_action="resummarize")

    with django_capture_on_commit_callbacks(execute=True):
        curation_item_resolve(item, actor=curator, resolution="")

    episode.refresh_from_db()
    assert (episode.pipeline_status, episode.attempts) == (Status.TRANSCRIBED, 0)
    assert queue_jobs("summaries") == [("summaries.tasks.summarize_episode", [episode.pk])]
