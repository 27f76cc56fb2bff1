"""SUMMARY_PROVIDER=openai through the summarize stage: each fault of the local server ends in a
stored summary, a retry with backoff, or one P1 item holding the raw reply, never a wrong page."""

import json

import pytest
from django.utils import timezone

from curation.models import CurationItem
from podcasts.models import Episode
from summaries.generation import summary_generate
from summaries.models import LLMUsage, Summary
from summaries.services import episode_summarize
from tests.factories import make_transcribed_episode
from tests.fakes.anthropic_server import summary_of_request
from tests.fakes.openai_server import error_reply, json_reply, text_reply
from tests.fakes.transcripts import long_transcript
from tests.support.corpus import fixture_episode

pytestmark = pytest.mark.django_db

Status = Episode.PipelineStatus


def refreshed(episode: Episode) -> Episode:
    episode.refresh_from_db()
    return episode


def test_summary_from_a_local_server_is_stored_published_and_free(fake_openai, episode):
    summary = episode_summarize(episode_id=episode.pk)

    assert refreshed(episode).pipeline_status == Status.SUMMARIZED
    assert (summary.provider, summary.model, summary.editorial_status) == ("openai", "fake-local-model", "published")
    assert summary.input_tokens > 0 and summary.cost_usd == 0 and summary.requests == 1
    assert LLMUsage.objects.get().requests == 1
    assert episode_summarize(episode_id=episode.pk) is None  # a rerun is a no-op
    assert len(fake_openai.requests) == 1


def test_truncated_prompt_fails_the_episode_with_one_p1_item_and_stores_nothing(fake_openai, db):
    episode = make_transcribed_episode(transcript=long_transcript(0.5))
    fake_openai.prompt_tokens_factor = 0.3

    assert episode_summarize(episode_id=episode.pk) is None
    assert episode_summarize(episode_id=episode.pk) is None  # no crash loop

    assert refreshed(episode).pipeline_status == Status.FAILED
    assert Summary.objects.count() == 0
    item = CurationItem.objects.get(flag_class="malformed_llm_output")
    assert (item.severity, item.evidence["reason"], item.evidence["provider"]) == ("P1", "prompt_truncated", "openai")
    assert json.loads(item.evidence["raw_reply"])["usage"]["prompt_tokens"] > 0
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (text_reply("Here you go: the episode was about compost."), "unparseable"),
        (json_reply({"tldr": "Compost.", "key_points": []}), "schema_invalid"),
        (text_reply(""), "empty"),
        (text_reply('{"tldr": "Compost and', finish_reason="length"), "max_tokens"),
    ],
)
def test_malformed_reply_is_one_p1_item_with_the_raw_reply(fake_openai, episode, reply, reason):
    fake_openai.script(reply)

    assert episode_summarize(episode_id=episode.pk) is None
    assert episode_summarize(episode_id=episode.pk) is None

    assert refreshed(episode).pipeline_status == Status.FAILED
    assert Summary.objects.count() == 0
    item = CurationItem.objects.get(flag_class="malformed_llm_output")
    assert (item.severity, item.proposed_action, item.evidence["reason"]) == ("P1", "retry_job", reason)
    assert json.loads(item.evidence["raw_reply"])["choices"][0]["finish_reason"] in ("stop", "length")
    assert not CurationItem.objects.filter(flag_class="job_failed").exists()


@pytest.mark.parametrize("fault", ["refused", "503", "429"])
def test_server_down_or_overloaded_is_a_transient_failure_with_backoff(fake_openai, episode, settings, refused_url, fault):
    if fault == "refused":
        settings.OPENAI_BASE_URL = refused_url
    else:
        fake_openai.script(*[error_reply(int(fault), "busy")] * 3)

    assert episode_summarize(episode_id=episode.pk) is None

    episode = refreshed(episode)
    assert episode.pipeline_status == Status.TRANSCRIBED  # waits for a retry, not failed
    assert episode.attempts == 1 and episode.retry_after > timezone.now()
    assert Summary.objects.count() == 0
    assert not CurationItem.objects.filter(flag_class="malformed_llm_output").exists()
    assert LLMUsage.objects.get().requests == 3  # 1 + OPENAI_MAX_RETRIES, each counted


def test_json_object_only_server_summarizes_through_the_pipeline(fake_openai, episode):
    fake_openai.formats = {"json_object", "text"}

    summary = episode_summarize(episode_id=episode.pk)

    assert summary.editorial_status == "published" and summary.requests == 2
    assert refreshed(episode).pipeline_status == Status.SUMMARIZED


def test_an_ad_span_the_transcript_does_not_bear_out_is_dropped_and_flagged_the_true_one_kept(fake_openai):
    corpus = fixture_episode("ep-daily-gist-chicago-70a82fe93a5c")
    episode = make_transcribed_episode(
        transcript={"segments": corpus.segments, "text": " ".join(s["text"] for s in corpus.segments)}, title=corpus.title
    )
    fake_openai.script(
        lambda body: json_reply(
            {
                **summary_of_request(body),
                "quotes": [{"text": "Because when you succeed, they succeed.", "start": "0:00:54"}],
                "ads": [
                    {"start": "0:00:54", "end": "0:01:05", "label": "Old National Bank"},
                    {"start": "0:05:00", "end": "0:06:00", "label": "Squarespace"},
                ],
            }
        )(body)
    )

    summary = summary_generate(episode=episode, prompt_version="v3")

    item = CurationItem.objects.get(flag_class=CurationItem.FlagClass.UNVERIFIED_AD_SPAN)
    assert item.object_id == str(summary.pk) and item.severity == CurationItem.Severity.P2
    assert item.proposed_by == "summaries:openai"
    assert [(d["span"]["label"], d["reason"]) for d in item.evidence["dropped_ad_spans"]] == [
        ("Squarespace", "its label is not said in the span")
    ]
    # The kept span still shapes the summary: the quote inside it is dropped, and publication is not held.
    assert summary.content["quotes"] == []
    assert summary.editorial_status == "published"
    assert "Squarespace" not in json.dumps(summary.content)
