"""The summarize stage and summary_generate: storage, flags, publishing, budget, idempotence."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from curation.models import CurationItem, CuratorAction
from curation.services import editorial_transition, enqueue_for_review
from podcasts.models import Episode
from summaries.generation import SummaryMalformed, next_utc_midnight, summary_generate, summary_supersede_older
from summaries.models import LLMUsage, Summary
from summaries.selectors import summary_current, summary_is_outdated
from summaries.services import demo_summaries_ensure, episode_summarize
from tests.factories import make_transcribed_episode
from tests.fakes.anthropic_server import error_reply, text_reply, tool_reply

pytestmark = pytest.mark.django_db

Status = Episode.PipelineStatus


def refreshed(episode: Episode) -> Episode:
    episode.refresh_from_db()
    return episode


def items(flag_class: str):
    return CurationItem.objects.filter(flag_class=flag_class)


def test_summarize_stores_a_published_summary_and_advances_and_a_rerun_is_a_noop(fake_anthropic, episode):
    summary = episode_summarize(episode_id=episode.pk)
    again = episode_summarize(episode_id=episode.pk)

    assert again is None
    assert Summary.objects.count() == 1
    assert len(fake_anthropic.requests) == 1
    assert refreshed(episode).pipeline_status == Status.SUMMARIZED
    summary.refresh_from_db()
    assert summary.editorial_status == "published"
    assert (summary.provider, summary.model, summary.prompt_version) == ("anthropic", "claude-haiku-4-5", "v3")
    assert summary.input_tokens > 0 and summary.output_tokens > 0 and summary.cost_usd > 0
    assert summary.requests == 1
    assert len(summary.source_hash) == 64
    usage = LLMUsage.objects.get()
    assert (usage.input_tokens, usage.output_tokens, usage.requests, usage.reserved_tokens) == (
        summary.input_tokens,
        summary.output_tokens,
        1,
        0,
    )
    assert CuratorAction.objects.filter(to_state="published", actor_label="system:automation").count() == 1


def test_episode_not_transcribed_is_left_alone(fake_anthropic, db):
    episode = make_transcribed_episode(pipeline_status=Status.TRANSCRIBING)

    assert episode_summarize(episode_id=episode.pk) is None

    assert refreshed(episode).pipeline_status == Status.TRANSCRIBING
    assert fake_anthropic.requests == []


def test_same_source_hash_reuses_the_summary_with_zero_requests(fake_anthropic, episode):
    first = summary_generate(episode=episode, prompt_version="v3")
    requests_after_first = len(fake_anthropic.requests)

    again = summary_generate(episode=episode, prompt_version="v3")
    Episode.objects.filter(pk=episode.pk).update(pipeline_status=Status.TRANSCRIBED)
    via_pipeline = episode_summarize(episode_id=episode.pk)

    assert requests_after_first == 1
    assert len(fake_anthropic.requests) == 1
    assert again.pk == first.pk == via_pipeline.pk
    assert refreshed(episode).pipeline_status == Status.SUMMARIZED


def test_force_makes_a_fresh_summary_and_another_prompt_version_is_another_hash(fake_anthropic, episode):
    first = summary_generate(episode=episode, prompt_version="v3")
    forced = summary_generate(episode=episode, prompt_version="v3", force=True)
    v1 = summary_generate(episode=episode, prompt_version="v1")

    assert len({first.pk, forced.pk, v1.pk}) == 3
    assert forced.source_hash == first.source_hash != v1.source_hash
    assert len(fake_anthropic.requests) == 3
    assert summary_is_outdated(summary=v1) and not summary_is_outdated(summary=forced)


@pytest.mark.parametrize(
    "reply",
    [
        text_reply("not json at all"),
        tool_reply({"tldr": "x"}),
        text_reply("", stop_reason="end_turn"),
        text_reply("I won't do that.", stop_reason="refusal"),
        tool_reply({"tldr": "partial"}, stop_reason="max_tokens"),
    ],
    ids=["malformed", "schema-invalid", "empty", "refusal", "max-tokens"],
)
def test_malformed_reply_fails_the_episode_with_one_p1_item_holding_the_raw_reply(fake_anthropic, episode, reply):
    fake_anthropic.script(reply)

    assert episode_summarize(episode_id=episode.pk) is None
    assert episode_summarize(episode_id=episode.pk) is None  # no crash loop: the rerun is a no-op

    episode = refreshed(episode)
    assert episode.pipeline_status == Status.FAILED
    assert Summary.objects.count() == 0
    assert len(fake_anthropic.requests) == 1
    item = items("malformed_llm_output").get()
    assert (item.severity, item.proposed_action, item.object_id) == ("P1", "retry_job", str(episode.pk))
    raw = json.loads(item.evidence["raw_reply"])
    assert (raw["stop_reason"], raw["content"]) == (reply.body["stop_reason"], reply.body["content"])
    assert not items("job_failed").exists()  # the P1 item is the one place a curator looks
    assert LLMUsage.objects.get().requests == 1  # the bad reply's tokens still count


def test_summary_generate_raises_after_flagging(fake_anthropic, episode):
    fake_anthropic.script(tool_reply({"tldr": "x"}))

    with pytest.raises(SummaryMalformed):
        summary_generate(episode=episode, prompt_version="v2", force=True)

    assert items("malformed_llm_output").count() == 1


def test_llm_unavailable_is_a_transient_failure_with_backoff(fake_anthropic, episode):
    fake_anthropic.script(*[error_reply(529, "overloaded_error") for _ in range(3)])

    episode_summarize(episode_id=episode.pk)
    episode_summarize(episode_id=episode.pk)  # waits for retry_after: a no-op

    episode = refreshed(episode)
    assert episode.pipeline_status == Status.TRANSCRIBED
    assert episode.attempts == 1
    assert episode.retry_after > timezone.now()
    assert len(fake_anthropic.requests) == 3
    assert LLMUsage.objects.get().requests == 3


def test_transient_failures_end_failed_after_max_attempts(fake_anthropic, episode, settings):
    settings.MAX_ATTEMPTS = 2
    fake_anthropic.script(*[error_reply(503, "api_error") for _ in range(6)])

    for _ in range(2):
        Episode.objects.filter(pk=episode.pk).update(retry_after=None)
        episode_summarize(episode_id=episode.pk)

    assert refreshed(episode).pipeline_status == Status.FAILED
    assert items("job_failed").get().severity == "P0"


def test_budget_exhaustion_defers_to_next_utc_midnight_with_one_p1_item(fake_anthropic, settings, db):
    settings.LLM_DAILY_TOKEN_BUDGET = 1000  # smaller than one request's worst case
    first = make_transcribed_episode(guid="a")
    second = make_transcribed_episode(guid="b")

    for ep in (first, second, first):
        episode_summarize(episode_id=ep.pk)

    assert fake_anthropic.requests == []
    for ep in (first, second):
        ep = refreshed(ep)
        assert ep.pipeline_status == Status.TRANSCRIBED  # waiting, not failed
        assert ep.attempts == 0
        assert ep.retry_after == next_utc_midnight()
        assert ep.retry_after.tzinfo is not None and ep.retry_after.astimezone(UTC).hour == 0
    item = items("llm_budget_exhausted").get()
    assert item.severity == "P1"
    assert item.occurrences == 2
    assert item.evidence["budget_tokens"] == 1000
    assert Summary.objects.count() == 0


def test_budget_counts_every_request_and_closes_once_spent(fake_anthropic, settings, db):
    episode = make_transcribed_episode()
    summary_generate(episode=episode, prompt_version="v2")
    spent = LLMUsage.objects.get().used_tokens
    # Room for what was spent, but not for another worst-case request.
    settings.LLM_DAILY_TOKEN_BUDGET = spent + 100

    other = make_transcribed_episode(guid="other")
    episode_summarize(episode_id=other.pk)

    assert len(fake_anthropic.requests) == 1
    assert refreshed(other).pipeline_status == Status.TRANSCRIBED
    assert items("llm_budget_exhausted").count() == 1


def test_next_utc_midnight():
    now = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    assert next_utc_midnight(now) == datetime(2026, 3, 2, tzinfo=UTC)


def test_fabricated_quote_is_dropped_with_a_p2_item_and_the_summary_still_publishes(fake_anthropic, episode):
    fake_anthropic.script(
        tool_reply(
            {
                "tldr": "Compost feeds soil.",
                "key_points": ["One.", "Two.", "Three."],
                "quotes": [{"text": "Nobody has ever needed compost in the history of gardening.", "start": 3}],
                "chapters": [{"title": "All", "start": 0}],
                "topics": ["compost"],
            }
        )
    )

    summary = episode_summarize(episode_id=episode.pk)

    assert summary.content["quotes"] == []
    item = items("unverified_quote").get()
    assert (item.severity, item.object_id) == ("P2", str(summary.pk))
    assert item.evidence["dropped_quotes"][0]["text"].startswith("Nobody has ever")
    summary.refresh_from_db()
    assert summary.editorial_status == "published"  # P2 does not hold it back


def test_open_p1_item_on_the_episode_holds_the_new_summary_as_candidate(fake_anthropic, episode):
    enqueue_for_review(target=episode, flag_class="low_confidence_transcript", severity="P1")

    summary = episode_summarize(episode_id=episode.pk)

    summary.refresh_from_db()
    assert summary.editorial_status == "candidate"
    assert refreshed(episode).pipeline_status == Status.SUMMARIZED


def test_pipeline_retires_the_older_summary_after_publishing_the_new_one(extractive, episode):
    old = summary_generate(episode=episode, prompt_version="v1")
    assert summary_current(episode_id=episode.pk) == old

    new = episode_summarize(episode_id=episode.pk)

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.editorial_status, old.superseded_by_id) == ("retired", new.pk)
    assert new.editorial_status == "published"
    assert summary_current(episode_id=episode.pk) == new


@pytest.mark.parametrize("curated", ["featured", "hidden"])
def test_curated_older_summary_is_never_undone_and_the_new_one_waits(extractive, episode, curated, django_user_model):
    curator = django_user_model.objects.create_user("cur", is_staff=True)
    old = summary_generate(episode=episode, prompt_version="v1")
    moves = ["featured"] if curated == "featured" else ["hidden"]
    for to in moves:
        editorial_transition(old, to, actor=curator, reason="curator choice")

    new = episode_summarize(episode_id=episode.pk)

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.editorial_status == curated
    assert new.editorial_status == "candidate"
    assert summary_supersede_older(summary=new) == []


def test_episode_that_had_a_summary_never_shows_none_when_the_new_one_is_held(extractive, episode):
    old = summary_generate(episode=episode, prompt_version="v1")
    enqueue_for_review(target=episode, flag_class="low_confidence_transcript", severity="P1")

    episode_summarize(episode_id=episode.pk)

    old.refresh_from_db()
    assert old.editorial_status == "published"
    assert summary_current(episode_id=episode.pk) == old


def test_episode_without_transcript_fails_permanently(fake_anthropic, db):
    from podcasts.models import Podcast

    podcast = Podcast.objects.create(feed_url="https://example.com/x.xml")
    episode = Episode.objects.create(podcast=podcast, guid="x", pipeline_status=Status.TRANSCRIBED)

    episode_summarize(episode_id=episode.pk)

    assert refreshed(episode).pipeline_status == Status.FAILED
    assert items("job_failed").count() == 1


def test_extractive_pipeline_needs_no_key_and_labels_itself(extractive, episode):
    summary = episode_summarize(episode_id=episode.pk)

    assert (summary.provider, summary.model, summary.cost_usd, summary.requests) == ("extractive", "extractive-tfidf-2", 0, 0)
    assert summary.is_extractive
    assert "Extractive" in summary.provider_label
    assert not LLMUsage.objects.exists()


def test_demo_summaries_show_one_outdated_episode_and_the_rest_current(extractive, db):
    episodes = [make_transcribed_episode(guid=f"g{i}", title=f"Episode {i}") for i in range(3)]
    Episode.objects.filter(pk=episodes[0].pk).update(published_at=timezone.now() - timedelta(days=3))
    Episode.objects.filter(pk=episodes[1].pk).update(pipeline_status=Status.SUMMARIZED)  # summarized earlier at v1
    summary_generate(episode=episodes[1], prompt_version="v1")

    shown = demo_summaries_ensure()
    again = demo_summaries_ensure()

    assert shown == again
    versions = {ep.pk: summary_current(episode_id=ep.pk).prompt_version for ep in episodes}
    assert sorted(versions.values()) == ["v2", "v3", "v3"]
    assert Summary.objects.filter(editorial_status__in=["published", "featured"]).count() == 3
    assert all(refreshed(ep).pipeline_status == Status.SUMMARIZED for ep in episodes)


def test_summary_generate_over_budget_raises_with_the_next_midnight(fake_anthropic, settings, episode):
    from summaries.generation import SummaryBudgetExhausted

    settings.LLM_DAILY_TOKEN_BUDGET = 0

    with pytest.raises(SummaryBudgetExhausted) as caught:
        summary_generate(episode=episode, prompt_version="v2", force=True)

    assert caught.value.transient and caught.value.retry_at == next_utc_midnight()
    assert fake_anthropic.requests == []
    assert items("llm_budget_exhausted").count() == 1


def test_budget_item_links_to_a_read_only_usage_page(fake_anthropic, settings, admin_client, episode):
    settings.LLM_DAILY_TOKEN_BUDGET = 10
    episode_summarize(episode_id=episode.pk)
    usage = LLMUsage.objects.get()

    page = admin_client.get(f"/admin/summaries/llmusage/{usage.pk}/change/")

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert items("llm_budget_exhausted").get().object_id == str(usage.pk)


def test_transcript_too_short_to_summarize_skips_the_episode_without_a_failure_item(extractive, db):
    """An 11-second clip cannot fill 3 key points: the episode is skipped with the reason, nobody is paged."""
    clip = {
        "segments": [
            {"start": 0.0, "end": 11.0, "text": "And so my fellow Americans, ask not what your country can do for you."}
        ],
        "text": "And so my fellow Americans, ask not what your country can do for you.",
    }
    episode = make_transcribed_episode(transcript=clip)

    assert episode_summarize(episode_id=episode.pk) is None
    assert episode_summarize(episode_id=episode.pk) is None  # a rerun is a no-op

    episode = refreshed(episode)
    assert episode.pipeline_status == "skipped"
    assert episode.last_error == "Not summarized: the transcript is too short to summarize"
    assert not Summary.objects.exists()
    assert not CurationItem.objects.filter(flag_class="job_failed").exists()


def test_publishing_a_new_episode_summary_emails_subscribers_who_opted_in(
    extractive, episode, django_user_model, mailoutbox, django_capture_on_commit_callbacks
):
    from podcasts.models import Subscription

    keen = django_user_model.objects.create_user("keen", email="keen@example.com")
    quiet = django_user_model.objects.create_user("quiet", email="quiet@example.com")
    Subscription.objects.create(user=keen, podcast=episode.podcast, notify_new_episodes=True)
    Subscription.objects.create(user=quiet, podcast=episode.podcast, notify_new_episodes=False)

    with django_capture_on_commit_callbacks(execute=True):
        summary = episode_summarize(episode_id=episode.pk)

    assert summary.editorial_status == "published"
    assert [m.to for m in mailoutbox] == [["keen@example.com"]]
    assert summary.content["tldr"] in mailoutbox[0].body
